using Dispatch.Grains.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Dispatch.ServiceDefaults;

/// <summary>Ready when the database answers and every migration this build carries is applied unchanged.</summary>
public sealed class DatabaseHealthCheck(Migrator migrator) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var status = await migrator.GetStatusAsync(cancellationToken);
            if (status.Mismatched.Count > 0)
                return HealthCheckResult.Unhealthy("applied migrations differ from this build");
            if (status.Pending.Count > 0)
                return HealthCheckResult.Unhealthy($"{status.Pending.Count} migration(s) not applied");
            return HealthCheckResult.Healthy("database reachable, migrations applied");
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return HealthCheckResult.Unhealthy("database unreachable");
        }
    }
}
