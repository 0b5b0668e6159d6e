using Dispatch.Grains.Storage;
using Microsoft.AspNetCore.Diagnostics;
using Orleans.Configuration;
using Orleans.Serialization;

namespace Dispatch.Api.Http;

/// <summary>
/// The Api is an Orleans client: it finds the silos' gateways in the membership table on the Dispatch database and sends every
/// state change to a grain. Grain calls are bounded (<c>Dispatch:Orleans:CallTimeout</c>, 5 s): a hung silo costs a caller a
/// 503 with <c>Retry-After</c>, never a hung request, and the commands are safe to repeat.
/// </summary>
public static class SiloClient
{
    public static WebApplicationBuilder AddSiloClient(this WebApplicationBuilder builder)
    {
        var hosting = DispatchCluster.Options(builder.Configuration);
        var before = builder.Services.Count;
        var connectionString = DispatchCluster.ProvidersConnectionString(builder.Configuration, maxPoolSize: 2);
        builder.UseOrleansClient(client => client
            .Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (hosting.ClusterId, hosting.ServiceId))
            .UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = (DispatchCluster.Invariant, connectionString))
            .Configure<ClientMessagingOptions>(o => o.ResponseTimeout = hosting.CallTimeout)
            .Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(5))
            // No silo yet (the Api started first, or every silo is restarting): keep trying rather than fail the start. A quarter
            // of a second apart (one read of the membership table each): the Api is ready within that of the first silo.
            .UseConnectionRetryFilter(async (_, cancellationToken) =>
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
                return true;
            })
            .Services.AddSerializer(serializer => serializer.AddDispatchJson()));
        // The client connects in the background: the Api serves (queries, health) while no silo is up yet, and commands answer 503.
        var connection = new SiloConnection();
        builder.Services.AddSingleton(connection);
        for (var i = before; i < builder.Services.Count; i++)
        {
            var descriptor = builder.Services[i];
            if (descriptor.ServiceType != typeof(IHostedService)) continue;
            builder.Services[i] = ServiceDescriptor.Singleton<IHostedService>(sp => new BackgroundStart(
                (IHostedService)(descriptor.ImplementationInstance ?? descriptor.ImplementationFactory?.Invoke(sp)
                    ?? ActivatorUtilities.CreateInstance(sp, descriptor.ImplementationType!)),
                connection, sp.GetRequiredService<ILogger<SiloConnection>>()));
        }
        builder.Services.AddHealthChecks().AddCheck<SiloConnectionHealthCheck>("engine", tags: ["ready"]);
        builder.Services.AddExceptionHandler<SiloUnavailable>();
        return builder;
    }

    private sealed class BackgroundStart(IHostedService client, SiloConnection connection, ILogger logger) : IHostedService
    {
        private readonly CancellationTokenSource _stopping = new();
        private Task _start = Task.CompletedTask;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            _start = Task.Run(async () =>
            {
                try
                {
                    await client.StartAsync(_stopping.Token);
                    connection.Connected();
                    logger.LogInformation("Connected to the Dispatch cluster");
                }
                catch (Exception ex) when (_stopping.IsCancellationRequested)
                {
                    logger.LogDebug("Stopped before connecting to the cluster ({Error})", ex.Message);
                }
            });
            return Task.CompletedTask;
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            await _stopping.CancelAsync();
            await _start;
            await client.StopAsync(cancellationToken);
        }
    }
}

/// <summary>Whether the Api's cluster client has connected to a silo's gateway.</summary>
public sealed class SiloConnection
{
    private volatile bool _connected;

    public bool IsConnected => _connected;

    internal void Connected() => _connected = true;
}

/// <summary>
/// Ready only once the Api reaches the cluster: before that, every command would answer 503. Waiting for a silo is degraded (queries
/// are served; logged as a warning, not an error), which <c>/health</c> answers 503 like any state that is not ready.
/// </summary>
public sealed class SiloConnectionHealthCheck(SiloConnection connection) : Microsoft.Extensions.Diagnostics.HealthChecks.IHealthCheck
{
    public Task<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult> CheckHealthAsync(
        Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(connection.IsConnected
            ? Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy("connected to the Orleans cluster")
            : Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Degraded("no silo reached yet"));
}

/// <summary>
/// A grain that did not answer in time, no silo to reach, or the database unreachable (from the Api's own query or inside a grain):
/// 503 with Retry-After, as a problem. Nothing was committed that the caller was not told of; the request is safe to repeat.
/// </summary>
public sealed class SiloUnavailable(SiloConnection connection, ILogger<SiloUnavailable> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var database = IsDatabaseUnreachable(exception);
        // Before the first connection Orleans refuses calls with InvalidOperationException, or ArgumentException when it cannot
        // resolve a grain interface (it learns the grain types from a silo); after it, its own exceptions.
        if (!database && exception is not (TimeoutException or OrleansException)
            && !(exception is InvalidOperationException or ArgumentException && !connection.IsConnected)) return false;
        logger.LogWarning("{Method} {Path} not served: {Cause} ({Error})", context.Request.Method, context.Request.Path,
            database ? "database unreachable" : "no silo answered in time", exception.GetType().Name);
        return await Problems.UnavailableAsync(context, database
            ? "The database is unreachable. Nothing was saved: repeat the request (creates with the same Idempotency-Key)."
            : "The engine did not answer in time. Nothing is lost: repeat the request (creates with the same Idempotency-Key).");
    }

    // Npgsql's own exception (from the Api's own queries), the silo's DatabaseUnavailableException, or Orleans' fallback naming an
    // Npgsql exception it could not rebuild.
    private static bool IsDatabaseUnreachable(Exception exception)
    {
        if (DatabaseUnavailableException.IsUnreachable(exception)) return true;
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is Orleans.Serialization.UnavailableExceptionFallbackException fallback
                && fallback.ExceptionType?.StartsWith("Npgsql.", StringComparison.Ordinal) == true)
                return !fallback.ExceptionType.StartsWith("Npgsql.PostgresException", StringComparison.Ordinal)
                    || fallback.Message.Contains("57P", StringComparison.Ordinal);
        }
        return false;
    }
}
