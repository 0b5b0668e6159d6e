using System.Net;
using Dispatch.Grains.Storage;
using Orleans.Configuration;
using Orleans.Serialization;

namespace Dispatch.Silo;

public static class OrleansHosting
{
    /// <summary>
    /// An Orleans silo on the Dispatch database: ADO.NET membership, reminders and grain storage (their tables and queries are
    /// migrations of this project), with failure detection tuned so a dead or hung silo is declared within seconds, not a minute.
    /// </summary>
    public static WebApplicationBuilder AddDispatchSilo(this WebApplicationBuilder builder)
    {
        var hosting = DispatchCluster.Options(builder.Configuration);
        var connectionString = DispatchCluster.ProvidersConnectionString(builder.Configuration);
        builder.UseOrleans(silo => silo
            .Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (hosting.ClusterId, hosting.ServiceId))
            .ConfigureEndpoints(IPAddress.Parse(hosting.AdvertisedAddress), hosting.SiloPort, hosting.GatewayPort)
            .UseDispatchProviders(connectionString));
        return builder;
    }

    /// <summary>Membership, reminders and grain storage on PostgreSQL, and the tuned failure detection.</summary>
    public static ISiloBuilder UseDispatchProviders(this ISiloBuilder silo, string connectionString) => silo
        .UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = (DispatchCluster.Invariant, connectionString))
        .UseAdoNetReminderService(o => (o.Invariant, o.ConnectionString) = (DispatchCluster.Invariant, connectionString))
        .AddAdoNetGrainStorageAsDefault(o => (o.Invariant, o.ConnectionString) = (DispatchCluster.Invariant, connectionString))
        .Configure<ClusterMembershipOptions>(TuneFailureDetection)
        .AddIncomingGrainCallFilter<DatabaseFailures>()
        .ConfigureServices(services => services.AddSerializer(serializer => serializer.AddDispatchJson()));

    /// <summary>
    /// Escalations cannot wait a minute for a dead silo to be noticed: probes time out after 1 s and two missed probes with one
    /// vote declare a silo dead. The price: a silo starved of CPU for ~2 s (a long GC pause on a small box) can be declared dead
    /// and must restart; that costs a restart, never a lost deadline (its work is in PostgreSQL and its grains move).
    /// </summary>
    public static void TuneFailureDetection(ClusterMembershipOptions o)
    {
        o.ProbeTimeout = TimeSpan.FromSeconds(1);
        o.NumMissedProbesLimit = 2;
        o.NumVotesForDeathDeclaration = 1;
        o.DeathVoteExpirationTimeout = TimeSpan.FromSeconds(10);
        o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(5);
        o.TableRefreshTimeout = TimeSpan.FromSeconds(5);
    }
}
