using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Dispatch.Tests.Infrastructure;

/// <summary>
/// A fresh database, dropped afterwards: per test when a test class derives from it, per class when used as
/// <c>IClassFixture&lt;TestDatabase&gt;</c>. It starts with every migration applied (what every host finds after its first
/// start), or empty where a test is about migrating one.
/// </summary>
public class TestDatabase(bool migrated) : IAsyncLifetime
{
    public TestDatabase() : this(migrated: true)
    {
    }

    public string Name { get; } = "t_" + Guid.NewGuid().ToString("N")[..16];
    public string ConnectionString { get; private set; } = "";
    public KeyRing Keys { get; protected set; } = KeyRing.Generate("test-a");
    public byte[] SigningKey { get; } = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);

    public NpgsqlDataSource CreateDataSource() => NpgsqlDataSource.Create(ConnectionString);

    /// <summary>The database with every migration applied, seen through its owner, app and engine roles.</summary>
    public async Task<DispatchDatabase> MigratedAsync()
    {
        var database = new DispatchDatabase(ConnectionString);
        await new Migrator(database.Owner, Migration.Embedded, NullLogger<Migrator>.Instance).MigrateAsync();
        return database;
    }

    public DispatchStore StoreFor(DispatchDatabase database) => new(database, new FieldCipher(Keys));

    /// <summary>Settings that give a host this database and key ring.</summary>
    public Dictionary<string, string?> HostSettings() => new()
    {
        ["ConnectionStrings:dispatch"] = ConnectionString,
        ["Dispatch:Encryption:ActiveKeyId"] = Keys.ActiveKeyId,
        [$"Dispatch:Encryption:Keys:{Keys.ActiveKeyId}"] = Keys.ToFile().Keys[Keys.ActiveKeyId],
        ["Dispatch:Auth:SigningKey"] = Convert.ToBase64String(SigningKey),
        [Dispatch.Grains.Cfs.CfsInboxRoot.Setting] = Dispatch.Testing.TestRun.Root, // every test folder is under it
    };

    public virtual async Task InitializeAsync() => ConnectionString = await CreateDatabaseAsync();

    public virtual Task DisposeAsync() => DropDatabaseAsync();

    /// <summary>Creates the database (on the run's shared server unless a test needs a server of its own); returns its connection string.</summary>
    protected virtual Task<string> CreateDatabaseAsync() => PostgresServer.CreateDatabaseAsync(Name, migrated);

    protected virtual Task DropDatabaseAsync() => PostgresServer.DropDatabaseAsync(Name);
}
