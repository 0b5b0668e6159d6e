using Npgsql;

namespace Dispatch.Grains.Storage;

/// <summary>
/// The three ways into the database, from one connection string: as its user (who owns the tables:
/// migrations, bootstrap, health, key rotation), as <c>dispatch_app</c> (row-level security by agency)
/// and as <c>dispatch_engine</c> (the Silo's loops, across agencies).
/// </summary>
public sealed class DispatchDatabase : IAsyncDisposable
{
    public const string AppRole = "dispatch_app";
    public const string EngineRole = "dispatch_engine";

    static DispatchDatabase() => Dapper.DefaultTypeMap.MatchNamesWithUnderscores = true; // snake_case columns, PascalCase members

    private readonly bool _ownsDataSources;

    /// <summary>Builds (and owns) the three data sources from one connection string: tests, the bench, Orleans' test clusters.</summary>
    public DispatchDatabase(string connectionString, Action<NpgsqlDataSourceBuilder>? configure = null)
    {
        Owner = Build(connectionString, null, configure);
        App = Build(connectionString, AppRole, configure);
        Engine = Build(connectionString, EngineRole, configure);
        _ownsDataSources = true;
    }

    /// <summary>Over data sources the host's container owns (Aspire's Npgsql client integration registers them).</summary>
    public DispatchDatabase(NpgsqlDataSource owner, NpgsqlDataSource app, NpgsqlDataSource engine) =>
        (Owner, App, Engine) = (owner, app, engine);

    public NpgsqlDataSource Owner { get; }
    public NpgsqlDataSource App { get; }
    public NpgsqlDataSource Engine { get; }

    // The role is a startup option, not a SET ROLE, so a recycled connection can never fall back to the owner.
    private static NpgsqlDataSource Build(string connectionString, string? role, Action<NpgsqlDataSourceBuilder>? configure)
    {
        var builder = new NpgsqlDataSourceBuilder(role is null ? connectionString : AsRole(connectionString, role));
        configure?.Invoke(builder);
        return builder.Build();
    }

    /// <summary>
    /// The connection string whose sessions run as <paramref name="role"/> from their start. Without a reset on close: these
    /// sessions hold no state beyond a transaction (the role is fixed at start-up, the agency context is
    /// <c>set_config(…, true)</c>, local to its transaction), so the DISCARD ALL a pool would send at every return — a statement
    /// and a transaction of its own, two per command — resets nothing, and prepared statements stay prepared (Npgsql's automatic
    /// preparation: the statements used most on a connection, up to 128; each execution planned for its values).
    /// </summary>
    public static string AsRole(string connectionString, string role)
    {
        // Statements run again and again (a create, a send's outcome) are prepared on the server after their second use, so
        // PostgreSQL parses each once per connection instead of at every call. Each execution is still planned for its own
        // values and the tables as they are now: a plan cached once for all values (PostgreSQL's generic plan) was measured
        // to go bad for the deliveries' load as the tables grew (19-24 ms an execution instead of under 1), which no incident
        // may wait on.
        var settings = new NpgsqlConnectionStringBuilder(connectionString) { NoResetOnClose = true, MaxAutoPrepare = 128, AutoPrepareMinUsages = 2 };
        settings.Options = $"{settings.Options} -c role={role} -c plan_cache_mode=force_custom_plan".Trim();
        settings.ApplicationName = $"{settings.ApplicationName ?? "dispatch"}:{role}";
        return settings.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_ownsDataSources) return;
        await Owner.DisposeAsync();
        await App.DisposeAsync();
        await Engine.DisposeAsync();
    }
}
