extern alias silo;
using Dispatch.Grains.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Hosting;
using Orleans.Serialization;
using Orleans.TestingHost;
using silo::Dispatch.Silo;

namespace Dispatch.Tests.Infrastructure;

/// <summary>An in-process Orleans cluster running the Silo's grains and wakers over a test database (already migrated).</summary>
public static class TestSilos
{
    public static async Task<TestCluster> StartAsync(TestDatabase database, int silos = 1, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var builder = new TestClusterBuilder((short)silos);
        builder.Options.UseTestClusterMembership = false;
        var configuration = database.HostSettings();
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) configuration[key] = value;
        builder.ConfigureHostConfiguration(c => c.AddInMemoryCollection(configuration));
        builder.AddSiloBuilderConfigurator<DispatchSilo>();
        builder.AddClientBuilderConfigurator<DispatchClient>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    private sealed class DispatchSilo : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.UseDispatchProviders(siloBuilder.Configuration.GetConnectionString("dispatch")!);
            siloBuilder.Services.AddSingleton(TimeProvider.System);
            siloBuilder.Services.AddDispatchStorage();
            siloBuilder.Services.AddDispatchEngine();
        }
    }

    /// <summary>A client of a test database's cluster: its membership table, and the grains' commands as JSON.</summary>
    public sealed class DispatchClient : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder clientBuilder)
        {
            clientBuilder.UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = (Dispatch.Grains.Storage.DispatchCluster.Invariant, configuration.GetConnectionString("dispatch")));
            clientBuilder.Services.AddSerializer(serializer => serializer.AddDispatchJson());
        }
    }
}
