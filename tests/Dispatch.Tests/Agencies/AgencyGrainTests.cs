using Dapper;
using Dispatch.Tests.Deliveries;
using Npgsql;

namespace Dispatch.Tests.Agencies;

/// <summary>
/// The agency grain's configuration in memory is never trusted stale: a change made around it (identity endpoints, an operator's SQL)
/// moves the agency's configuration version, and the next incident is routed on the changed configuration.
/// </summary>
[Trait("Tier", "Full")] // real processes: a Silo, the Api or the AppHost
public sealed class AgencyGrainTests : DeliveryWorld
{
    private async Task<long> VersionAsync(Guid agency)
    {
        await using var c = new NpgsqlConnection(ConnectionString);
        return await c.ExecuteScalarAsync<long>("select dispatch_configuration_version(@agency)", new { agency });
    }

    private async Task ExecuteAsync(string sql, object parameters)
    {
        await using var c = new NpgsqlConnection(ConnectionString);
        await c.ExecuteAsync(sql, parameters);
    }

    [Fact]
    public async Task Changes_made_around_the_grain_reach_the_next_incident()
    {
        var (gasco, _, _) = await OnboardCompanyAsync("gasco");
        await ChannelAsync(gasco, "email", "ops email", "{}");
        var rita = await ResponderAsync(gasco, "rita@gasco.example");
        var first = await RaiseAsync("critical", gasco); // the grain now holds gasco's configuration: the admin and Rita, by email
        Assert.Equal(2, Deliveries(await IncidentAsync(first)).Count());

        // Behind the grain's back: Rita leaves, and a webhook channel is added.
        await ExecuteAsync("update users set is_active = false where id = @rita", new { rita });
        await ChannelAsync(gasco, "webhook", "dispatch hook", $$"""{"url":"{{Webhooks.Url}}","secret":"gasco-webhook-secret-0123456789"}""");
        var second = await RaiseAsync("critical", gasco);

        var incident = await IncidentAsync(second);
        var notification = incident["companies"]![0]!["notifications"]!.AsArray().Single()!; // the admin only
        Assert.NotEqual(rita, notification["notifiedUserId"]!.GetValue<Guid>());
        Assert.Equal(new[] { "email", "webhook" }, Deliveries(incident).Select(d => d["transportTypeSlug"]!.GetValue<string>()).Order());
    }

    [Fact]
    public async Task Every_routing_input_moves_the_version_and_nothing_else_does()
    {
        var (gasco, adminEmail, adminPassword) = await OnboardCompanyAsync("gasco");
        var versions = new List<long> { await VersionAsync(gasco) };
        async Task Moved(string what)
        {
            var now = await VersionAsync(gasco);
            Assert.True(now > versions[^1], $"{what} did not move the version");
            versions.Add(now);
        }

        var channel = await ChannelAsync(gasco, "email", "ops email", "{}");
        await Moved("a channel");
        await RuleAsync(gasco, channel, ["critical"]);
        await Moved("a notification rule");
        var rita = await ResponderAsync(gasco, "rita@gasco.example");
        await Moved("a user");
        await PreferenceAsync(rita, channel, 1, "all");
        await Moved("a preference");
        await ExecuteAsync("update agencies set timezone = 'Europe/Berlin' where id = @gasco", new { gasco });
        await Moved("the time zone");
        await ExecuteAsync("""
            insert into escalation_rules (agency_id, ack_timeout_seconds, escalation_order) values (@gasco, 60, '[{"roleSlugs":["company-responder"]}]')
            """, new { gasco });
        await Moved("an escalation rule");
        await ExecuteAsync("update users set is_active = false where id = @rita", new { rita });
        await Moved("a user's deactivation");

        await LoginAsync(adminEmail, adminPassword); // a login writes last_login_at: not a routing input
        Assert.Equal(versions[^1], await VersionAsync(gasco));
    }
}
