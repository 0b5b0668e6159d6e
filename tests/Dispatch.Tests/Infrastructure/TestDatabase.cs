using Npgsql;

namespace Dispatch.Tests.Infrastructure;

/// <summary>A fresh, empty database for one test class (use as <c>IClassFixture&lt;TestDatabase&gt;</c>), dropped afterwards.</summary>
public class TestDatabase : IAsyncLifetime
{
    public string Name { get; } = "t_" + Guid.NewGuid().ToString("N")[..16];
    public string ConnectionString { get; private set; } = "";

    public NpgsqlDataSource CreateDataSource() => NpgsqlDataSource.Create(ConnectionString);

    public async Task InitializeAsync() => ConnectionString = await PostgresServer.CreateDatabaseAsync(Name);

    public Task DisposeAsync() => PostgresServer.DropDatabaseAsync(Name);
}
