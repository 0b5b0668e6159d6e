using Microsoft.Extensions.Configuration;
using Orleans.Serialization;

namespace Dispatch.Grains.Storage;

/// <summary>Where a silo listens and which cluster silos and clients join (<c>Dispatch:Orleans</c>).</summary>
public sealed class OrleansHostingOptions
{
    public const string Section = "Dispatch:Orleans";

    public string ClusterId { get; set; } = "dispatch";
    public string ServiceId { get; set; } = "dispatch";

    /// <summary>The address other silos and clients reach this one at.</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    public int SiloPort { get; set; } = 11111;
    public int GatewayPort { get; set; } = 30000;

    /// <summary>How long a client (the Api) waits for a grain's answer before it gives up and answers 503.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>What silos and clients share to form one cluster on the Dispatch database.</summary>
public static class DispatchCluster
{
    /// <summary>The ADO.NET providers' name for PostgreSQL: they load Npgsql's factory by reflection.</summary>
    public const string Invariant = "Npgsql";

    /// <summary>
    /// <c>Dispatch:Orleans</c>, with the cluster, service and ports that an Aspire AppHost gives a host (<c>Orleans:ClusterId</c>,
    /// <c>Orleans:ServiceId</c>, <c>Orleans:Endpoints:SiloPort</c>, <c>Orleans:Endpoints:GatewayPort</c>) taking precedence.
    /// </summary>
    public static OrleansHostingOptions Options(IConfiguration configuration)
    {
        var options = configuration.GetSection(OrleansHostingOptions.Section).Get<OrleansHostingOptions>() ?? new();
        var aspire = configuration.GetSection("Orleans");
        if (aspire["ClusterId"] is { Length: > 0 } clusterId) options.ClusterId = clusterId;
        if (aspire["ServiceId"] is { Length: > 0 } serviceId) options.ServiceId = serviceId;
        if (int.TryParse(aspire["Endpoints:SiloPort"], out var siloPort)) options.SiloPort = siloPort;
        if (int.TryParse(aspire["Endpoints:GatewayPort"], out var gatewayPort)) options.GatewayPort = gatewayPort;
        return options;
    }

    /// <summary>
    /// The providers' connection string: the Dispatch database with a small pool of its own, so a burst of reminder or membership
    /// writes cannot take PostgreSQL's last connections.
    /// </summary>
    public static string ProvidersConnectionString(IConfiguration configuration, int maxPoolSize = 10)
    {
        var connectionString = configuration.GetConnectionString("dispatch") ?? throw new InvalidOperationException("ConnectionStrings:dispatch is required.");
        // No reset on close: the providers open a pooled connection per query and set no session state, so the DISCARD ALL
        // Npgsql would send at every return (a transaction of its own, half of the cluster's idle traffic) resets nothing.
        return new Npgsql.NpgsqlConnectionStringBuilder(connectionString)
        {
            MaxPoolSize = maxPoolSize, ApplicationName = "dispatch:orleans", NoResetOnClose = true,
        }.ConnectionString;
    }

    /// <summary>
    /// Grain calls carry Dispatch's own records as Orleans contracts (<c>[GenerateSerializer, Immutable]</c>, version-tolerant by
    /// field id). The one thing carried as JSON is JSON itself: a channel's configuration, a call's extra fields
    /// (<see cref="System.Text.Json.Nodes.JsonNode"/>).
    /// </summary>
    public static ISerializerBuilder AddDispatchJson(this ISerializerBuilder serializer) =>
        serializer.AddJsonSerializer(isSupported: type => type.Namespace == "System.Text.Json.Nodes");
}
