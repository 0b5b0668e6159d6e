extern alias silo;
using Dapper;
using Dispatch.Grains.Storage;
using Dispatch.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Orleans.Hosting;
using Orleans.Serialization;
using Orleans.TestingHost;
using silo::Dispatch.Silo;

namespace Dispatch.Tests.Silo;

public interface IProbeGrain : IGrainWithStringKey
{
    Task<int> CountAsync();

    Task RemindAsync();

    Task ForgetAsync();

    Task LeaveAsync();
}

[GenerateSerializer]
public sealed class ProbeState
{
    [Id(0)] public int Count { get; set; }
}

/// <summary>A grain that keeps a counter in ADO.NET grain storage and holds a reminder: what the providers must serve.</summary>
public sealed class ProbeGrain([PersistentState("probe")] IPersistentState<ProbeState> state) : Grain, IProbeGrain, IRemindable
{
    public async Task<int> CountAsync()
    {
        state.State.Count++;
        await state.WriteStateAsync();
        return state.State.Count;
    }

    public Task RemindAsync() => this.RegisterOrUpdateReminder("probe", TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5));

    public async Task ForgetAsync() => await this.UnregisterReminder((await this.GetReminder("probe"))!);

    public Task LeaveAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask;
}

/// <summary>
/// The PostgreSQL schema and query set written here for Orleans' ADO.NET providers, served to a real two-silo TestCluster:
/// membership, reminders and grain storage, and the dead-silo cleanup a fresh setup would otherwise lack.
/// </summary>
public sealed class OrleansProvidersTests : TestDatabase
{
    private TestCluster _cluster = null!;

    private sealed class SiloOnDatabase : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder) =>
            siloBuilder.UseDispatchProviders(siloBuilder.Configuration.GetConnectionString("dispatch")!);
    }

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await using (var database = await MigratedAsync()) { }
        var builder = new TestClusterBuilder(2);
        builder.Options.UseTestClusterMembership = false;
        builder.ConfigureHostConfiguration(c => c.AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:dispatch"] = ConnectionString }));
        builder.AddSiloBuilderConfigurator<SiloOnDatabase>();
        builder.AddClientBuilderConfigurator<TestSilos.DispatchClient>();
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public override async Task DisposeAsync()
    {
        await _cluster.StopAllSilosAsync();
        await _cluster.DisposeAsync();
        await base.DisposeAsync();
    }

    private async Task<NpgsqlConnection> OpenAsync()
    {
        var c = new NpgsqlConnection(ConnectionString);
        await c.OpenAsync();
        return c;
    }

    [Fact]
    public async Task Two_silos_join_through_the_membership_table_and_grains_keep_state_and_reminders_in_postgres()
    {
        var probe = _cluster.Client.GetGrain<IProbeGrain>("a");
        Assert.Equal(1, await probe.CountAsync());
        Assert.Equal(2, await probe.CountAsync());
        await probe.RemindAsync();

        await using var c = await OpenAsync();
        Assert.Equal(2, await c.ExecuteScalarAsync<int>("select count(*) from orleansmembershiptable where status = 3")); // Active
        Assert.Equal(1, await c.ExecuteScalarAsync<int>("select count(*) from orleansreminderstable where remindername = 'probe'"));
        Assert.Equal(2, await c.ExecuteScalarAsync<int>("select version from orleansstorage"));

        // A fresh activation reads what the last one wrote.
        await probe.LeaveAsync();
        var again = _cluster.Client.GetGrain<IProbeGrain>("a");
        Assert.Equal(3, await again.CountAsync());

        await again.ForgetAsync();
        Assert.Equal(0, await c.ExecuteScalarAsync<int>("select count(*) from orleansreminderstable"));
    }

    [Fact]
    public async Task Dead_silos_rows_are_cleaned_up_and_live_ones_are_left()
    {
        await using var c = await OpenAsync();
        var deployment = await c.ExecuteScalarAsync<string>("select deploymentid from orleansmembershipversiontable");
        await c.ExecuteAsync("""
            insert into orleansmembershiptable (deploymentid, address, port, generation, siloname, hostname, status, starttime, iamalivetime)
            values (@deployment, '10.9.9.9', 1, 1, 'gone', 'gone', 6, now() - interval '2 days', now() - interval '2 days')
            """, new { deployment });
        var cleanup = await c.ExecuteScalarAsync<string>("select querytext from orleansquery where querykey = 'CleanupDefunctSiloEntriesKey'");

        await using (var command = new NpgsqlCommand(cleanup, c))
        {
            command.Parameters.AddWithValue("DeploymentId", deployment!);
            command.Parameters.AddWithValue("IAmAliveTime", DateTime.UtcNow.AddDays(-1));
            await command.ExecuteNonQueryAsync();
        }

        Assert.Equal(0, await c.ExecuteScalarAsync<int>("select count(*) from orleansmembershiptable where siloname = 'gone'"));
        Assert.Equal(2, await c.ExecuteScalarAsync<int>("select count(*) from orleansmembershiptable where status = 3"));
        Assert.Equal(1, await c.ExecuteScalarAsync<int>("select count(*) from orleansquery where querykey = 'CleanupDefunctSiloEntryKey'"));
    }
}
