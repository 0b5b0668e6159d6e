using Dapper;
using Dispatch.Grains.Storage;
using Dispatch.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Dispatch.Tests.Storage;

public sealed class MigratorTests() : TestDatabase(migrated: false)
{
    private Migrator MigratorFor(NpgsqlDataSource dataSource, IReadOnlyList<Migration>? migrations = null) =>
        new(dataSource, migrations ?? Migration.Embedded, NullLogger<Migrator>.Instance);

    [Fact]
    public async Task Migrate_applies_every_embedded_migration_once_and_a_second_run_changes_nothing()
    {
        await using var dataSource = CreateDataSource();
        var migrator = MigratorFor(dataSource);

        Assert.Equal(Migration.Embedded.Count, await migrator.MigrateAsync());
        Assert.Equal(0, await migrator.MigrateAsync());

        await using var connection = await dataSource.OpenConnectionAsync();
        var recorded = (await connection.QueryAsync<(int Version, string Checksum)>(
            "select version, checksum from schema_migrations order by version")).ToList();
        Assert.Equal(Migration.Embedded.Select(m => (m.Version, m.Checksum)), recorded);
        Assert.True((await migrator.GetStatusAsync()).UpToDate);
    }

    [Fact]
    public async Task Hosts_starting_together_apply_each_migration_exactly_once()
    {
        var sources = Enumerable.Range(0, 8).Select(_ => CreateDataSource()).ToList();
        try
        {
            var applied = await Task.WhenAll(sources.Select(s => MigratorFor(s).MigrateAsync()));

            Assert.Equal(Migration.Embedded.Count, applied.Sum());
            await using var connection = await sources[0].OpenConnectionAsync();
            Assert.Equal(Migration.Embedded.Count, await connection.ExecuteScalarAsync<int>("select count(*) from schema_migrations"));
        }
        finally
        {
            foreach (var source in sources) await source.DisposeAsync();
        }
    }

    [Fact]
    public async Task Changed_applied_migration_stops_startup_naming_the_file()
    {
        await using var dataSource = CreateDataSource();
        await MigratorFor(dataSource, [new Migration(1, "widgets", "create table widgets (id int)")]).MigrateAsync();

        var edited = MigratorFor(dataSource, [
            new Migration(1, "widgets", "create table widgets (id int, name text)"),
            new Migration(2, "gadgets", "create table gadgets (id int)"),
        ]);
        var error = await Assert.ThrowsAsync<MigrationChecksumMismatchException>(() => edited.MigrateAsync());

        Assert.Contains("0001_widgets.sql", error.Message);
        Assert.False((await edited.GetStatusAsync()).UpToDate);
        await using var connection = await dataSource.OpenConnectionAsync();
        Assert.False(await connection.ExecuteScalarAsync<bool>("select to_regclass('gadgets') is not null"));
    }

    [Fact]
    public async Task Line_endings_do_not_count_as_a_change()
    {
        await using var dataSource = CreateDataSource();
        await MigratorFor(dataSource, [new Migration(1, "widgets", "create table widgets (\n  id int\n)")]).MigrateAsync();

        var checkedOutOnWindows = MigratorFor(dataSource, [new Migration(1, "widgets", "create table widgets (\r\n  id int\r\n)")]);

        Assert.Equal(0, await checkedOutOnWindows.MigrateAsync());
    }

    [Fact]
    public async Task A_failing_migration_is_rolled_back_and_not_recorded()
    {
        await using var dataSource = CreateDataSource();
        var migrator = MigratorFor(dataSource, [
            new Migration(1, "widgets", "create table widgets (id int)"),
            new Migration(2, "broken", "create table gadgets (id int); select * from no_such_table"),
        ]);

        await Assert.ThrowsAsync<PostgresException>(() => migrator.MigrateAsync());

        await using var connection = await dataSource.OpenConnectionAsync();
        Assert.Equal([1], await connection.QueryAsync<int>("select version from schema_migrations"));
        Assert.False(await connection.ExecuteScalarAsync<bool>("select to_regclass('gadgets') is not null"));
        Assert.Equal([2], (await migrator.GetStatusAsync()).Pending.Select(m => m.Version));
    }

    [Fact]
    public void Embedded_migrations_are_numbered_in_order_without_gaps()
    {
        Assert.NotEmpty(Migration.Embedded);
        Assert.Equal(Enumerable.Range(1, Migration.Embedded.Count), Migration.Embedded.Select(m => m.Version));
    }
}
