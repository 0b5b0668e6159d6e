using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;

namespace Dispatch.Grains.Transports;

/// <summary>A destination the outbound policy refuses: it is, or resolves to, an internal address.</summary>
public sealed class OutboundRefusedException(string message) : HttpRequestException(message);

/// <summary>
/// Where Dispatch may send on a customer's behalf. Webhook, callback and SMTP destinations are configured by agency admins, so a
/// destination on loopback, link-local (cloud metadata), private, shared or reserved ranges — or the Api itself — is refused, both
/// when it is configured and again at send time on the address it resolves to then (DNS rebinding), unless
/// <c>Dispatch:Outbound:AllowedNetworks</c> (CIDRs) or <c>AllowedHosts</c> (names) name it.
/// </summary>
public sealed class OutboundPolicy
{
    public const string Section = "Dispatch:Outbound";
    public const string DevelopmentNetworks = "127.0.0.0/8,::1/128";

    private static readonly IPNetwork[] Internal =
    [
        IPNetwork.Parse("0.0.0.0/8"), IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("100.64.0.0/10"), IPNetwork.Parse("127.0.0.0/8"),
        IPNetwork.Parse("169.254.0.0/16"), IPNetwork.Parse("172.16.0.0/12"), IPNetwork.Parse("192.0.0.0/24"), IPNetwork.Parse("192.0.2.0/24"),
        IPNetwork.Parse("192.168.0.0/16"), IPNetwork.Parse("198.18.0.0/15"), IPNetwork.Parse("198.51.100.0/24"), IPNetwork.Parse("203.0.113.0/24"),
        IPNetwork.Parse("224.0.0.0/4"), IPNetwork.Parse("240.0.0.0/4"),
        IPNetwork.Parse("::/128"), IPNetwork.Parse("::1/128"), IPNetwork.Parse("64:ff9b:1::/48"), IPNetwork.Parse("100::/64"),
        IPNetwork.Parse("2001:db8::/32"), IPNetwork.Parse("fc00::/7"), IPNetwork.Parse("fe80::/10"), IPNetwork.Parse("ff00::/8"),
    ];

    private readonly IReadOnlyList<IPNetwork> _allowedNetworks;
    private readonly IReadOnlySet<string> _allowedHosts;
    private readonly string? _self;

    public OutboundPolicy(IEnumerable<IPNetwork> allowedNetworks, IEnumerable<string> allowedHosts, Uri? publicUrl)
    {
        _allowedNetworks = allowedNetworks.ToList();
        _allowedHosts = allowedHosts.Select(h => h.Trim().TrimEnd('.').ToLowerInvariant()).Where(h => h.Length > 0).ToHashSet();
        _self = publicUrl is null ? null : Authority(publicUrl);
    }

    /// <summary>The configured policy; in Development, unless <c>AllowedNetworks</c> is set (even empty), loopback is allowed so local receivers work.</summary>
    public static OutboundPolicy FromConfiguration(IConfiguration configuration, bool isDevelopment)
    {
        var section = configuration.GetSection(Section);
        var allowed = section["AllowedNetworks"] ?? (isDevelopment ? DevelopmentNetworks : null);
        var networks = List(allowed).Select(n => IPNetwork.TryParse(n, out var net) ? net
            : throw new InvalidOperationException($"{Section}:AllowedNetworks: '{n}' is not a CIDR network such as 127.0.0.0/8."));
        var publicUrl = Uri.TryCreate(configuration["Dispatch:PublicUrl"], UriKind.Absolute, out var u) ? u : null;
        return new OutboundPolicy(networks.ToList(), List(section["AllowedHosts"]), publicUrl);
    }

    private static IEnumerable<string> List(string? value) =>
        (value ?? "").Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Why <paramref name="address"/> may not be sent to, or null when it may.</summary>
    public string? RefusalFor(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (_allowedNetworks.Any(n => n.Contains(address))) return null;
        // An IPv6 address that carries an IPv4 one (NAT64, IPv4-compatible, 6to4, Teredo) reaches that IPv4 address: judged by it.
        if (EmbeddedIPv4(address).FirstOrDefault(v4 => !_allowedNetworks.Any(n => n.Contains(v4)) && Internal.Any(n => n.Contains(v4))) is not null)
            return "an internal address (an IPv6 form of an internal IPv4 address)";
        return Internal.Any(n => n.Contains(address)) ? "an internal address (loopback, link-local, private or reserved)" : null;
    }

    /// <summary>The IPv4 addresses an IPv6 address embeds and would be routed to.</summary>
    public static IEnumerable<IPAddress> EmbeddedIPv4(IPAddress address)
    {
        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6) yield break;
        var b = address.GetAddressBytes();
        static IPAddress At(byte[] bytes, int offset, bool inverted = false) =>
            new(inverted ? bytes[offset..(offset + 4)].Select(x => (byte)~x).ToArray() : bytes[offset..(offset + 4)]);
        bool Zero(int from, int to) => b[from..to].All(x => x == 0);
        if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && Zero(4, 12)) yield return At(b, 12); // NAT64 64:ff9b::/96
        else if (Zero(0, 12) && !Zero(12, 16)) yield return At(b, 12); // IPv4-compatible ::a.b.c.d
        else if (b[0] == 0x20 && b[1] == 0x02) yield return At(b, 2); // 6to4 2002:AABB:CCDD::/48
        else if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && b[3] == 0x00) // Teredo 2001::/32: server, and the client obfuscated
        {
            yield return At(b, 4);
            yield return At(b, 12, inverted: true);
        }
    }

    /// <summary>Why <paramref name="url"/> may not be a destination, or null; resolves its host as the sender would.</summary>
    public Task<string?> CheckUrlAsync(Uri url, CancellationToken cancellationToken = default) =>
        Authority(url) == _self ? Task.FromResult<string?>("is Dispatch's own address.") : CheckHostAsync(url.IdnHost, cancellationToken);

    /// <summary>Why <paramref name="host"/> (a name or an address) may not be connected to, or null.</summary>
    public async Task<string?> CheckHostAsync(string host, CancellationToken cancellationToken = default)
    {
        try
        {
            await ResolveAsync(host, cancellationToken);
            return null;
        }
        catch (OutboundRefusedException e)
        {
            return e.Message;
        }
        catch (SocketException)
        {
            return null; // not known yet (or DNS is down): nothing to refuse now, and the sender checks again when it connects
        }
    }

    /// <summary>The addresses of <paramref name="host"/> that may be connected to; refused when any of them may not (a name that does not resolve throws <see cref="SocketException"/>).</summary>
    public async Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        host = host.Trim('[', ']').TrimEnd('.').ToLowerInvariant();
        var addresses = IPAddress.TryParse(host, out var ip) ? [ip] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        if (_allowedHosts.Contains(host)) return addresses;
        // Every address must pass: a name that also resolves inside could be steered there by the resolver.
        if (addresses.Select(RefusalFor).FirstOrDefault(r => r is not null) is { } refusal)
            throw new OutboundRefusedException($"its host '{host}' is {refusal}.");
        return addresses;
    }

    /// <summary>An HTTP handler that connects only to addresses this policy allows, checked on the address resolved at connect time.</summary>
    public SocketsHttpHandler CreateHandler() => new()
    {
        AllowAutoRedirect = false, // a redirect could lead anywhere; receivers answer where they are asked
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectCallback = async (context, cancellationToken) =>
        {
            var addresses = await ResolveAsync(context.DnsEndPoint.Host, cancellationToken);
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };

    private static string Authority(Uri url) => $"{url.IdnHost.ToLowerInvariant()}:{url.Port}";
}
