using System.Text.Json;
using Dispatch.Grains.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Dispatch.ServiceDefaults;

public static class ServiceDefaultsExtensions
{
    private const string ReadyTag = "ready";

    /// <summary>
    /// Telemetry, storage with migrations and bootstrap at start-up, health checks and problem details:
    /// what every Dispatch host shares.
    /// </summary>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.AddDispatchTelemetry();
        builder.AddDispatchDatabase();
        builder.Services.AddDispatchStorage();
        builder.Services.AddOptions<DatabaseStartupOptions>().BindConfiguration(DatabaseStartupOptions.Section);
        builder.Services.AddSingleton<DatabaseStartup>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DatabaseStartup>());
        builder.Services.AddHealthChecks()
            .AddCheck<DatabaseHealthCheck>("database", tags: [ReadyTag], timeout: TimeSpan.FromSeconds(5));
        builder.Services.AddProblemDetails();
        return builder;
    }

    /// <summary>
    /// The database's three data sources through Aspire's Npgsql client integration (its health check, tracing and metrics):
    /// the owner from <c>ConnectionStrings:dispatch</c>, and the same server as <c>dispatch_app</c> and <c>dispatch_engine</c>
    /// (keyed by role, without health checks of their own: one check of the server is enough).
    /// </summary>
    public static TBuilder AddDispatchDatabase<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var connectionString = builder.Configuration.GetConnectionString(StorageServiceCollectionExtensions.ConnectionStringName);
        if (string.IsNullOrWhiteSpace(connectionString)) throw new InvalidOperationException(StorageServiceCollectionExtensions.NoDatabase);
        var poolSize = builder.Configuration.GetValue(PoolSizeSetting, DefaultPoolSize);
        if (poolSize < 1) throw new InvalidOperationException($"{PoolSizeSetting} is {poolSize}; it must be at least 1.");
        builder.AddNpgsqlDataSource(StorageServiceCollectionExtensions.ConnectionStringName,
            settings => settings.ConnectionString = Bounded(connectionString, OwnerPoolSize), WorkOnlyTracing);
        foreach (var role in new[] { DispatchDatabase.AppRole, DispatchDatabase.EngineRole })
            builder.AddKeyedNpgsqlDataSource(role, settings =>
            {
                settings.ConnectionString = DispatchDatabase.AsRole(Bounded(connectionString, poolSize), role);
                settings.DisableHealthChecks = true;
            }, WorkOnlyTracing);
        builder.Services.AddSingleton(sp => new DispatchDatabase(sp.GetRequiredService<NpgsqlDataSource>(),
            sp.GetRequiredKeyedService<NpgsqlDataSource>(DispatchDatabase.AppRole),
            sp.GetRequiredKeyedService<NpgsqlDataSource>(DispatchDatabase.EngineRole)));
        return builder;
    }

    /// <summary>How many connections a host keeps at most for each of its two working roles (<c>dispatch_app</c>, <c>dispatch_engine</c>).</summary>
    public const string PoolSizeSetting = "Dispatch:Database:MaxPoolSize";

    /// <summary>
    /// Enough to keep PostgreSQL busy on the machines Dispatch runs on; more would not run more at once, only open more. A burst
    /// (a hundred clients on one incident) waits its turn for a pooled connection instead of opening a hundred — each one a
    /// process and an authentication handshake on the server — and leaves PostgreSQL's slots (100 by default) to the other
    /// hosts: two silos and the Api stay under PostgreSQL's default 100 together (a silo 2 × 10, the owner's 3 and Orleans' 10:
    /// 33; the Api 2 × 10, 3 and 2: 25; 91 in all).
    /// </summary>
    public const int DefaultPoolSize = 10;

    /// <summary>The owner's connections: migrations, the bootstrap, key rotation and the health check, never a request's work.</summary>
    private const int OwnerPoolSize = 3;

    /// <summary>The connection string with a pool of at most <paramref name="size"/>, unless it sets its own.</summary>
    private static string Bounded(string connectionString, int size)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        if (given.Keys.Cast<string>().Any(k => k.Replace(" ", "").ToLowerInvariant() is "maximumpoolsize" or "maxpoolsize")) return connectionString;
        return new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = size }.ConnectionString;
    }

    /// <summary>
    /// A database command is traced as part of a request, a grain call or a delivery, never on its own: the recovery scans'
    /// polling queries (several a second on every silo, with nothing to do) would otherwise bury every incident's trace in the
    /// dashboard among thousands of one-span traces.
    /// </summary>
    private static void WorkOnlyTracing(Npgsql.NpgsqlDataSourceBuilder builder) => builder.ConfigureTracing(tracing => tracing
        .EnablePhysicalOpenTracing(false)
        .ConfigureCommandFilter(_ => System.Diagnostics.Activity.Current is not null)
        .ConfigureBatchFilter(_ => System.Diagnostics.Activity.Current is not null));

    /// <summary><c>/health</c>: ready (every check: the database answers, migrations applied, an Api reached a silo); <c>/alive</c>: the process answers.</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks("/health", new HealthCheckOptions
        {
            Predicate = _ => true,
            ResponseWriter = WriteHealthAsync,
            // Degraded (up, but not ready: an Api still waiting for its first silo) is not ready either.
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status503ServiceUnavailable,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });
        app.MapHealthChecks("/alive", new HealthCheckOptions
        {
            Predicate = _ => false,
            ResponseWriter = WriteHealthAsync,
        });
        return app;
    }

    private static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(context.Response.Body, new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new
            {
                status = e.Value.Status.ToString(),
                description = e.Value.Description,
            }),
        }, cancellationToken: context.RequestAborted);
    }
}
