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

    public DispatchDatabase(string connectionString, Action<NpgsqlDataSourceBuilder>? configure = null)
    {
        Owner = Build(connectionString, null, configure);
        App = Build(connectionString, AppRole, configure);
        Engine = Build(connectionString, EngineRole, configure);
    }

    public NpgsqlDataSource Owner { get; }
    public NpgsqlDataSource App { get; }
    public NpgsqlDataSource Engine { get; }

    // The role is a startup option, not a SET ROLE: it survives the DISCARD ALL / RESET ALL that
    // pooling issues, so a recycled connection can never fall back to the owner.
    private static NpgsqlDataSource Build(string connectionString, string? role, Action<NpgsqlDataSourceBuilder>? configure)
    {
        var settings = new NpgsqlConnectionStringBuilder(connectionString);
        if (role is not null)
        {
            settings.Options = $"{settings.Options} -c role={role}".Trim();
            settings.ApplicationName = $"{settings.ApplicationName ?? "dispatch"}:{role}";
        }
        var builder = new NpgsqlDataSourceBuilder(settings.ConnectionString);
        configure?.Invoke(builder);
        return builder.Build();
    }

    public async ValueTask DisposeAsync()
    {
        await Owner.DisposeAsync();
        await App.DisposeAsync();
        await Engine.DisposeAsync();
    }
}
