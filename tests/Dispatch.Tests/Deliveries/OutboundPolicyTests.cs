using System.Net;
using Dispatch.Grains.Transports;
using Microsoft.Extensions.Configuration;

namespace Dispatch.Tests.Deliveries;

/// <summary>
/// The outbound policy alone: which destinations an agency admin's configuration may make Dispatch send to (no database, no
/// host: each case is a call).
/// </summary>
public sealed class OutboundPolicyTests
{
    [Theory]
    [InlineData("http://127.0.0.1:8080/hook")]
    [InlineData("http://localhost/hook")]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("http://10.1.2.3/hook")]
    [InlineData("http://172.20.0.5/hook")]
    [InlineData("http://192.168.1.10/hook")]
    [InlineData("http://100.64.0.1/hook")]
    [InlineData("http://0.0.0.0/hook")]
    [InlineData("http://[::1]/hook")]
    [InlineData("http://[::ffff:127.0.0.1]/hook")]
    [InlineData("http://[fd00::1]/hook")]
    [InlineData("http://2130706433/hook")] // 127.0.0.1 as a number
    [InlineData("http://[64:ff9b::a9fe:a9fe]/latest/meta-data/")] // the metadata address through NAT64
    [InlineData("http://[::a9fe:a9fe]/latest/meta-data/")] // IPv4-compatible
    [InlineData("http://[2002:a9fe:a9fe::1]/latest/meta-data/")] // 6to4
    [InlineData("http://[2002:7f00:1::1]/hook")] // 6to4 of 127.0.0.1
    [InlineData("http://[2001:0:a9fe:a9fe::1]/hook")] // Teredo with the metadata address as its server
    [InlineData("http://[64:ff9b::10.0.0.1]/hook")]
    public async Task Internal_destinations_are_refused_without_an_allow_list(string url)
    {
        var policy = new OutboundPolicy([], [], null);
        Assert.NotNull(await policy.CheckUrlAsync(new Uri(url)));
    }

    [Theory]
    [InlineData("64:ff9b::808:808")] // 8.8.8.8 through NAT64
    [InlineData("2002:808:808::1")] // 6to4 of 8.8.8.8
    [InlineData("2606:4700:4700::1111")]
    public void Ipv6_forms_of_public_addresses_stay_allowed(string address)
    {
        Assert.Null(new OutboundPolicy([], [], null).RefusalFor(System.Net.IPAddress.Parse(address)));
    }

    [Fact]
    public async Task The_policy_allows_public_addresses_what_its_allow_list_names_and_never_dispatch_itself()
    {
        var production = new OutboundPolicy([], [], new Uri("https://dispatch.metro911.example"));
        var development = OutboundPolicy.FromConfiguration(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Dispatch:PublicUrl"] = "http://127.0.0.1:5080" }).Build(), isDevelopment: true);

        Assert.Null(await production.CheckUrlAsync(new Uri("https://93.184.216.34/hook")));
        Assert.NotNull(await production.CheckUrlAsync(new Uri("https://dispatch.metro911.example/api/v1/users")));
        Assert.Null(await development.CheckUrlAsync(new Uri("http://127.0.0.1:9999/hook")));
        Assert.NotNull(await development.CheckUrlAsync(new Uri("http://127.0.0.1:5080/api/v1/users")));
        Assert.NotNull(await development.CheckUrlAsync(new Uri("http://169.254.169.254/latest/meta-data/")));
        Assert.Null(await new OutboundPolicy([IPNetwork.Parse("10.0.0.0/8")], [], null).CheckUrlAsync(new Uri("http://10.1.2.3/hook")));
    }
}
