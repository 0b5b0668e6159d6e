using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Dispatch.AppHost;

/// <summary>The machine's PostgreSQL binaries run by Aspire as an executable, with the Dispatch database's connection string.</summary>
public sealed class LocalPostgresResource(string name, string workingDirectory, ParameterResource password)
    : ExecutableResource(name, "/bin/sh", workingDirectory), IResourceWithConnectionString
{
    public const string EndpointName = "tcp";

    public EndpointReference Endpoint => new(this, EndpointName);

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Host=127.0.0.1;Port={Endpoint.Property(EndpointProperty.TargetPort)};Username=dispatch;Password={password};Database=dispatch");
}

public static class LocalPostgresExtensions
{
    /// <summary>
    /// PostgreSQL from the machine's binaries with its data in <paramref name="dataDir"/>/postgres (kept across runs): initialised on
    /// first start by <c>postgres.sh</c>, on a port Aspire assigns, healthy once the Dispatch database answers a query.
    /// </summary>
    public static IResourceBuilder<LocalPostgresResource> AddLocalPostgres(this IDistributedApplicationBuilder builder, string name,
        string dataDir, IResourceBuilder<ParameterResource> password, string passwordFile)
    {
        var postgres = new LocalPostgresResource(name, dataDir, password.Resource);
        var healthCheck = $"{name}-answers";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(healthCheck, _ => new PromptHealth(ct => AnswersAsync(postgres, ct)),
            HealthStatus.Unhealthy, null));
        return builder.AddResource(postgres)
            .WithArgs(Path.Combine(AppContext.BaseDirectory, "postgres.sh"), Path.Combine(dataDir, "postgres", "data"), passwordFile)
            .WithEndpoint(name: LocalPostgresResource.EndpointName, scheme: "tcp", env: "PGPORT", isProxied: false)
            .WithHealthCheck(healthCheck);
    }

    /// <summary>Null once the Dispatch database answers a query; otherwise why not.</summary>
    private static async Task<string?> AnswersAsync(LocalPostgresResource postgres, CancellationToken cancellationToken)
    {
        try
        {
            var connectionString = await postgres.ConnectionStringExpression.GetValueAsync(cancellationToken);
            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, Timeout = 3 }.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("select 1", connection);
            await command.ExecuteScalarAsync(cancellationToken);
            return null;
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or System.Net.Sockets.SocketException or TimeoutException)
        {
            return $"the dispatch database does not answer yet ({ex.Message})";
        }
    }
}
