using Dispatch.Testing;
using Npgsql;

namespace Dispatch.Tests.Infrastructure;

/// <summary>
/// One PostgreSQL for the whole test run: <c>DISPATCH_TEST_DATABASE</c> (a connection string whose user may
/// create databases) when set, otherwise a throwaway cluster from the machine's binaries, removed at exit.
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
        RemoveClustersOfFinishedRuns();
        var root = Path.Combine(Path.GetTempPath(), $"{ClusterPrefix}{Environment.ProcessId}");
        var cluster = new EmbeddedPostgres(binDir, root, durable: false);
        await cluster.StartAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.StopAsync().GetAwaiter().GetResult();
        RemoveWhenThisProcessEnds(root, binDir, cluster.DataDir);
        return cluster.ConnectionString("postgres", pooling: false);
    }

    private const string ClusterPrefix = "dispatch-tests-";

    // The test host may be ended before it can delete its cluster; the next run sweeps up.
    private static void RemoveClustersOfFinishedRuns()
    {
        foreach (var dir in Directory.GetDirectories(Path.GetTempPath(), ClusterPrefix + "*"))
        {
            if (int.TryParse(Path.GetFileName(dir)[ClusterPrefix.Length..], out var pid) && !Directory.Exists($"/proc/{pid}"))
                Remove(dir);
        }
    }

    // The test host is often ended before its exit handlers finish: a detached watcher stops the server and deletes the
    // cluster once this process is gone, however it ended.
    private static void RemoveWhenThisProcessEnds(string root, string binDir, string dataDir)
    {
        var pgCtl = (Environment.IsPrivilegedProcess ? "runuser -u postgres -- " : "") + $"'{Path.Combine(binDir, "pg_ctl")}'";
        var script = $"exec </dev/null >/dev/null 2>&1; while kill -0 {Environment.ProcessId}; do sleep 0.5; done; " +
                     $"{pgCtl} stop -D '{dataDir}' -m fast -w -t 30; rm -rf '{root}'";
        var start = new System.Diagnostics.ProcessStartInfo("setsid", ["sh", "-c", script])
        {
            UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        System.Diagnostics.Process.Start(start)!.Dispose();
    }

    private static void Remove(string dir)
    {
        try { Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
