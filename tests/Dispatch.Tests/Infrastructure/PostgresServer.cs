using Dispatch.Testing;
using Npgsql;

namespace Dispatch.Tests.Infrastructure;

/// <summary>
/// One PostgreSQL for the whole test run: <c>DISPATCH_TEST_DATABASE</c> (a connection string whose user may
/// create databases) when set, otherwise a throwaway cluster from the machine's binaries in <see cref="TestRun.Root"/>, stopped and removed at exit.
/// </summary>
public static class PostgresServer
{
    private static readonly Lazy<Task<string>> AdminConnectionString = new(StartAsync);

    /// <summary>A connection string for <paramref name="database"/> on the shared server.</summary>
    public static async Task<string> ConnectionStringAsync(string database) =>
        new NpgsqlConnectionStringBuilder(await AdminConnectionString.Value) { Database = database }.ConnectionString;

    public static async Task<string> CreateDatabaseAsync(string name)
    {
        await using var connection = new NpgsqlConnection(await ConnectionStringAsync("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"create database {name}", connection);
        await command.ExecuteNonQueryAsync();
        return await ConnectionStringAsync(name);
    }

    public static async Task DropDatabaseAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(await ConnectionStringAsync("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"drop database if exists {name} with (force)", connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<string> StartAsync()
    {
        var configured = Environment.GetEnvironmentVariable("DISPATCH_TEST_DATABASE");
        if (!string.IsNullOrWhiteSpace(configured))
            return new NpgsqlConnectionStringBuilder(configured) { Pooling = false }.ConnectionString;

        var binDir = await PostgresBinaries.FindAsync()
            ?? throw new InvalidOperationException("Tests need PostgreSQL: install it or set DISPATCH_TEST_DATABASE.\n" + PostgresBinaries.InstallHelp);
        var cluster = new EmbeddedPostgres(binDir, TestRun.Root, durable: false);
        await cluster.StartAsync();
        _ = TestRun.StopPostgresAtExit(binDir, cluster.DataDir); // however this process ends; kept for the whole run
        AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.StopAsync().GetAwaiter().GetResult();
        return cluster.ConnectionString("postgres", pooling: false);
    }
}
