using System.Net;
using Orleans.Configuration;

namespace Dispatch.Silo;

/// <summary>Where this silo listens and which cluster it joins (<c>Dispatch:Orleans</c>).</summary>
public sealed class OrleansHostingOptions
{
    public const string Section = "Dispatch:Orleans";

    public string ClusterId { get; set; } = "dispatch";
    public string ServiceId { get; set; } = "dispatch";

    /// <summary>The address other silos and clients reach this one at.</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    public int SiloPort { get; set; } = 11111;
    public int GatewayPort { get; set; } = 30000;
}

public static class OrleansHosting
{
    /// <summary>The ADO.NET providers' name for PostgreSQL: they load Npgsql's factory by reflection.</summary>
    public const string Invariant = "Npgsql";

    /// <summary>
    /// An Orleans silo on the Dispatch database: ADO.NET membership, reminders and grain storage (their tables and queries are
    /// migrations of this project), with failure detection tuned so a dead or hung silo is declared within seconds, not a minute.
    /// </summary>
    public static WebApplicationBuilder AddDispatchSilo(this WebApplicationBuilder builder)
    {
        var hosting = builder.Configuration.GetSection(OrleansHostingOptions.Section).Get<OrleansHostingOptions>() ?? new();
        var connectionString = builder.Configuration.GetConnectionString("dispatch")
            ?? throw new InvalidOperationException("ConnectionStrings:dispatch is required.");
        // The providers get a pool of their own, kept small: a burst of reminder writes must not take PostgreSQL's last connections.
        connectionString = new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 10, ApplicationName = "dispatch:orleans" }.ConnectionString;
        builder.UseOrleans(silo => silo
            .Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (hosting.ClusterId, hosting.ServiceId))
            .ConfigureEndpoints(IPAddress.Parse(hosting.AdvertisedAddress), hosting.SiloPort, hosting.GatewayPort)
            .UseDispatchProviders(connectionString));
        return builder;
    }

    /// <summary>Membership, reminders and grain storage on PostgreSQL, and the tuned failure detection.</summary>
    public static ISiloBuilder UseDispatchProviders(this ISiloBuilder silo, string connectionString) => silo
        .UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = (Invariant, connectionString))
        .UseAdoNetReminderService(o => (o.Invariant, o.ConnectionString) = (Invariant, connectionString))
        .AddAdoNetGrainStorageAsDefault(o => (o.Invariant, o.ConnectionString) = (Invariant, connectionString))
        .Configure<ClusterMembershipOptions>(TuneFailureDetection);

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
