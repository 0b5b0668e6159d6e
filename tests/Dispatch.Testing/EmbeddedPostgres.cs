using System.Security.Cryptography;
using Npgsql;

namespace Dispatch.Testing;

/// <summary>
/// A PostgreSQL cluster kept in a folder and run from the machine's binaries: initialised on first
/// use, started on a free loopback port, stopped with <c>pg_ctl stop -m fast</c>. As root, the server
/// runs as the <c>postgres</c> OS user, since PostgreSQL refuses to run as root.
/// </summary>
public sealed class EmbeddedPostgres(string binDir, string rootDir, bool durable = true)
{
    private const string SuperUser = "dispatch";
    private const string ServerOsUser = "postgres";

    private readonly string _clusterDir = Path.Combine(rootDir, "postgres");
    private readonly string _passwordFile = Path.Combine(rootDir, "postgres-password");

    public string DataDir => Path.Combine(_clusterDir, "data");
    public string LogFile => Path.Combine(_clusterDir, "postgres.log");
    public int Port { get; private set; }
    public bool IsInitialised => File.Exists(Path.Combine(DataDir, "PG_VERSION"));

    private string? RunAs => OsProcess.IsRoot ? ServerOsUser : null;

    public string ConnectionString(string database, bool pooling = true) => new NpgsqlConnectionStringBuilder
    {
        Pooling = pooling,
        Host = "127.0.0.1",
        Port = Port,
        Username = SuperUser,
        Password = File.ReadAllText(_passwordFile).Trim(),
        Database = database,
    }.ConnectionString;

    /// <summary>Initialises the cluster if needed, stops a server a killed run left behind, starts it.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (!IsInitialised)
            await InitialiseAsync(cancellationToken);
        else if (await IsRunningAsync(cancellationToken))
            await StopAsync(cancellationToken);

        if (Port == 0) Port = LoopbackPort.Free(); // a restart keeps its port: clients' connection strings stay good
        // pg_stat_statements loaded (not created in any database): tests and the bench count the statements a command costs.
        var options = $"-p {Port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c shared_preload_libraries=pg_stat_statements";
        if (!durable)
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"; // pooled hosts of several tests at once
        // setsid: a Ctrl+C meant for the AppHost must not reach the server; the AppHost stops it in order.
        var result = await OsProcess.RunAsync("setsid", ["--wait", Path.Combine(binDir, "pg_ctl"),
            "start", "-D", DataDir, "-l", LogFile, "-w", "-t", "60", "-s", "-o", options], RunAs, cancellationToken: cancellationToken);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"PostgreSQL did not start (see {LogFile}):\n{result.Output}{TailOfLog()}");
    }

    /// <param name="immediate">Stop as a crash would: no shutdown checkpoint, recovery from the WAL at the next start.</param>
    public async Task StopAsync(CancellationToken cancellationToken = default, bool immediate = false)
    {
        if (!IsInitialised || !await IsRunningAsync(cancellationToken))
            return;
        var result = await PgAsync("pg_ctl", ["stop", "-D", DataDir, "-m", immediate ? "immediate" : "fast", "-w", "-t", "60", "-s"], cancellationToken);
        if (result.ExitCode != 0 && await IsRunningAsync(cancellationToken))
            throw new InvalidOperationException($"PostgreSQL did not stop:\n{result.Output}");
    }

    public async Task<bool> IsRunningAsync(CancellationToken cancellationToken = default) =>
        (await PgAsync("pg_ctl", ["status", "-D", DataDir], cancellationToken)).ExitCode == 0;

    /// <summary>Creates <paramref name="database"/> unless it exists.</summary>
    public async Task EnsureDatabaseAsync(string database, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(ConnectionString("postgres", pooling: false));
        await connection.OpenAsync(cancellationToken);
        await using var exists = new NpgsqlCommand("select 1 from pg_database where datname = $1", connection)
        {
            Parameters = { new() { Value = database } },
        };
        if (await exists.ExecuteScalarAsync(cancellationToken) is null)
        {
            await using var create = new NpgsqlCommand($"create database \"{database.Replace("\"", "\"\"")}\"", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private async Task InitialiseAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(rootDir);
        if (Directory.Exists(_clusterDir))
            Directory.Delete(_clusterDir, recursive: true); // a half-finished initdb
        Directory.CreateDirectory(_clusterDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        await File.WriteAllTextAsync(_passwordFile, password, cancellationToken);
        File.SetUnixFileMode(_passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var initPasswordFile = Path.Combine(_clusterDir, "initdb-password");
        await File.WriteAllTextAsync(initPasswordFile, password, cancellationToken);
        if (RunAs is not null)
        {
            var chown = await OsProcess.RunAsync("chown", ["-R", $"{ServerOsUser}:", _clusterDir], cancellationToken: cancellationToken);
            if (chown.ExitCode != 0)
                throw new InvalidOperationException($"Could not hand {_clusterDir} to the {ServerOsUser} user: {chown.Output}");
        }
        try
        {
            var result = await PgAsync("initdb", ["-D", DataDir, "-U", SuperUser, "--pwfile", initPasswordFile,
                "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"], cancellationToken);
            if (result.ExitCode != 0)
            {
                var hint = RunAs is not null
                    ? $" As root the server runs as the '{ServerOsUser}' user, which must be able to reach {_clusterDir} (every parent folder needs o+x)."
                    : "";
                throw new InvalidOperationException($"initdb failed.{hint}\n{result.Output}");
            }
        }
        finally
        {
            File.Delete(initPasswordFile);
        }
    }

    private Task<OsProcess.Result> PgAsync(string tool, string[] arguments, CancellationToken cancellationToken) =>
        OsProcess.RunAsync(Path.Combine(binDir, tool), arguments, RunAs, cancellationToken: cancellationToken);

    private string TailOfLog()
    {
        try
        {
            return "\n" + string.Join('\n', File.ReadLines(LogFile).TakeLast(20));
        }
        catch (IOException)
        {
            return "";
        }
    }
}
