using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatch.Grains.Storage;

/// <summary>The applied state of a database compared with the migrations this build carries.</summary>
public sealed record MigrationStatus(IReadOnlyList<Migration> Pending, IReadOnlyList<string> Mismatched)
{
    public bool UpToDate => Pending.Count == 0 && Mismatched.Count == 0;
}

/// <summary>Raised when an applied migration's text no longer matches the one this build carries.</summary>
public sealed class MigrationChecksumMismatchException(string message) : Exception(message);

/// <summary>
/// Applies numbered migrations in order, each in its own transaction, under a session advisory
/// lock so that hosts starting together take turns; records each with its checksum. An up-to-date database is seen as such
/// without the lock.
/// </summary>
public sealed class Migrator(NpgsqlDataSource dataSource, IReadOnlyList<Migration> migrations, ILogger<Migrator> logger)
{
    // "DISPATCH" as ASCII; every host and test agrees on it.
    internal const long AdvisoryLockKey = 0x4449535041544348;

    private const string CreateHistory = """
        create table if not exists schema_migrations (
            version    integer primary key,
            name       text not null,
            checksum   text not null,
            applied_at timestamptz not null default now()
        )
        """;

    private const string SelectApplied = "select version, name, checksum from schema_migrations order by version";

    private const string InsertApplied = """
        insert into schema_migrations (version, name, checksum) values (@Version, @Name, @Checksum)
        """;

    public async Task<int> MigrateAsync(CancellationToken cancellationToken = default)
    {
        // Hosts starting together on a migrated database (every start but the first) find it up to date without the lock,
        // instead of queueing for it one after another.
        var before = await GetStatusAsync(cancellationToken);
        if (before.UpToDate) return 0;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("select pg_advisory_lock(@key)",
            new { key = AdvisoryLockKey }, cancellationToken: cancellationToken));
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(CreateHistory, cancellationToken: cancellationToken));
            var status = Compare(await ReadAppliedAsync(connection, cancellationToken));
            if (status.Mismatched.Count > 0)
                throw new MigrationChecksumMismatchException(
                    "Applied migrations differ from this build: " + string.Join("; ", status.Mismatched) +
                    ". Never edit an applied migration; add a new one.");

            foreach (var migration in status.Pending)
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await connection.ExecuteAsync(new CommandDefinition(migration.Sql, transaction: transaction,
                    cancellationToken: cancellationToken));
                await connection.ExecuteAsync(new CommandDefinition(InsertApplied, migration, transaction,
                    cancellationToken: cancellationToken));
                await transaction.CommitAsync(cancellationToken);
                logger.LogInformation("Applied migration {MigrationVersion} {MigrationName}", migration.Version, migration.Name);
            }
            return status.Pending.Count;
        }
        finally
        {
            await connection.ExecuteAsync("select pg_advisory_unlock(@key)", new { key = AdvisoryLockKey });
        }
    }

    /// <summary>Reads, without locking or changing anything, how far the database is from this build.</summary>
    public async Task<MigrationStatus> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var exists = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "select to_regclass('schema_migrations') is not null", cancellationToken: cancellationToken));
        return Compare(exists ? await ReadAppliedAsync(connection, cancellationToken) : []);
    }

    private MigrationStatus Compare(IReadOnlyList<AppliedMigration> applied)
    {
        var byVersion = applied.ToDictionary(a => a.Version);
        var mismatched = new List<string>();
        var pending = new List<Migration>();
        foreach (var migration in migrations)
        {
            if (!byVersion.TryGetValue(migration.Version, out var row))
                pending.Add(migration);
            else if (row.Checksum != migration.Checksum)
                mismatched.Add($"{migration.Version:D4}_{migration.Name}.sql was applied with checksum {row.Checksum[..12]}… but is now {migration.Checksum[..12]}…");
        }
        return new MigrationStatus(pending, mismatched);
    }

    private static async Task<IReadOnlyList<AppliedMigration>> ReadAppliedAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<AppliedMigration>(new CommandDefinition(SelectApplied, cancellationToken: cancellationToken))).AsList();

    private sealed record AppliedMigration(int Version, string Name, string Checksum);
}
