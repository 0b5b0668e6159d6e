using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using Dispatch.Grains.Escalation;

namespace Dispatch.Tests.Escalation;

/// <summary>The escalation engine against the real database with a moved clock: each pass runs as if it were a given instant.</summary>
[Trait("Tier", "Full")] // real processes: a Silo, the Api or the AppHost
public sealed class EscalationEngineTests : EscalationWorld
{
    protected override bool RunsSilo => false;

    // A silo in the test process takes the Api's commands; its timers would fire these deadlines only a minute from now in
    // real time, long after the moved clock below has fired them.
    protected override bool RunsSiloProcesses => false;

    // Its mail goes to a folder: every delivery succeeds, so no unreachable recipient adds PSAP alerts of its own.
    protected override IReadOnlyDictionary<string, string?> HostExtras => new Dictionary<string, string?>
    {
        ["Dispatch:Email:PickupDirectory"] = Dispatch.Testing.TestRun.NewFolder("engine-"),
    };

    [Fact]
    public async Task Tiers_fire_in_order_at_their_deadlines_repeat_then_stop_and_the_psap_is_alerted_at_every_step()
    {
        await SetUpAsync(repeatCount: 1);
        var id = await RaiseAsync("critical", Gasco);
        var incident = await IncidentAsync(id);
        var due = NextDeadline(incident)!.Value;
        Assert.Equal([Oncall], Company(incident)["notifications"]!.AsArray().Select(n => n!["notifiedUserId"]!.GetValue<Guid>()));

        Assert.Empty(await FireAsync(due.AddMilliseconds(-1)));
        var first = Assert.Single(await FireAsync(due.AddMilliseconds(300)));
        Assert.Empty(await FireAsync(due.AddMilliseconds(300))); // fired once, not again
        Assert.Equal((EscalationOutcome.NextTier, 1, 0), (first.Outcome, first.Tier, first.Cycle));
        Assert.Equal(TimeSpan.FromMilliseconds(300), first.Lateness);

        incident = await IncidentAsync(id);
        Assert.Equal(1, Company(incident)["currentTier"]!.GetValue<int>());
        var tier2 = Company(incident)["notifications"]!.AsArray().Single(n => n!["tier"]!.GetValue<int>() == 1)!;
        Assert.Equal(Supervisor, tier2["notifiedUserId"]!.GetValue<Guid>());
        Assert.Equal(due.AddMilliseconds(300).AddSeconds(TimeoutSeconds), NextDeadline(incident));
        Assert.NotNull(Company(incident)["notifications"]![0]!["escalatedAt"]?.GetValue<DateTimeOffset>());
        var alert = Assert.Single(incident["psapAlerts"]!.AsArray())!;
        Assert.Equal(PsapAdmin, alert["notifiedUserId"]!.GetValue<Guid>());
        Assert.Equal("email", alert["deliveries"]![0]!["transportTypeSlug"]!.GetValue<string>());

        // Past the last tier: the PSAP is told, and the policy starts again from the first tier once.
        var repeat = Assert.Single(await FireAsync(NextDeadline(incident)!.Value));
        Assert.Equal((EscalationOutcome.Repeat, 0, 1), (repeat.Outcome, repeat.Tier, repeat.Cycle));
        Assert.Equal(1, await LoggedAsync(id, "escalation_cycle_ended"));
        var again = Assert.Single(await FireAsync(NextDeadline(await IncidentAsync(id))!.Value));
        Assert.Equal((EscalationOutcome.NextTier, 1, 1), (again.Outcome, again.Tier, again.Cycle));
        var last = Assert.Single(await FireAsync(NextDeadline(await IncidentAsync(id))!.Value));
        Assert.Equal(EscalationOutcome.Exhausted, last.Outcome);

        incident = await IncidentAsync(id);
        Assert.Null(NextDeadline(incident));
        Assert.Empty(await FireAsync(DateTimeOffset.UtcNow.AddDays(1)));
        var order = Company(incident)["notifications"]!.AsArray()
            .Select(n => (n!["tier"]!.GetValue<int>(), n["escalationCycle"]!.GetValue<int>(), n["notifiedUserId"]!.GetValue<Guid>())).ToList();
        Assert.Equal([(0, 0, Oncall), (1, 0, Supervisor), (0, 1, Oncall), (1, 1, Supervisor)], order);
        Assert.Equal(4, incident["psapAlerts"]!.AsArray().Count);
        Assert.Equal(3, await LoggedAsync(id, "escalation"));
        Assert.Equal(1, await LoggedAsync(id, "escalation_exhausted"));
        Assert.Equal("open", incident["incident"]!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_acknowledgement_after_a_step_stops_the_next_tier_and_one_before_the_deadline_stops_everything()
    {
        await SetUpAsync(repeatCount: 3);
        using var oncall = await AsResponderAsync("oncall@gasco.example");
        using var supervisor = await AsResponderAsync("supervisor@gasco.example");

        // Acknowledged after the first step: the supervisor's pending deadline is cancelled, nothing fires later.
        var late = await RaiseAsync("critical", Gasco);
        Assert.Single(await FireAsync(NextDeadline(await IncidentAsync(late))!.Value));
        var mine = Company(await IncidentAsync(late))["notifications"]![0]!["id"]!.GetValue<Guid>();
        var ack = await SendAsync(oncall, HttpMethod.Post, $"/api/v1/notifications/{mine}/ack");
        Assert.Equal(HttpStatusCode.OK, ack.Status);
        Assert.Equal("acknowledged", ack.Body!["incidentStatus"]!.GetValue<string>());
        var incident = await IncidentAsync(late);
        Assert.Null(NextDeadline(incident));
        Assert.NotNull(Company(incident)["notifications"]![1]!["escalationCancelledAt"]?.GetValue<DateTimeOffset>());
        Assert.Empty(await FireAsync(DateTimeOffset.UtcNow.AddDays(1)));

        // Acknowledged on the incident by a user of the company before the deadline: no step ever fires.
        var early = await RaiseAsync("critical", Gasco);
        var byIncident = await SendAsync(supervisor, HttpMethod.Post, $"/api/v1/incidents/{early}/ack");
        var twice = await SendAsync(oncall, HttpMethod.Post, $"/api/v1/incidents/{early}/ack");
        Assert.Equal(HttpStatusCode.OK, byIncident.Status);
        Assert.Equal("incident_api", byIncident.Body!["ackSource"]!.GetValue<string>());
        Assert.False(byIncident.Body!["repeated"]!.GetValue<bool>());
        Assert.True(twice.Body!["repeated"]!.GetValue<bool>()); // the first acknowledgement stands and is reported
        Assert.Equal(Supervisor, twice.Body!["ackedByUserId"]!.GetValue<Guid>());
        Assert.Empty(await FireAsync(DateTimeOffset.UtcNow.AddDays(1)));
        Assert.Equal(0, await LoggedAsync(early, "escalation"));
        var company = Company(await IncidentAsync(early));
        Assert.Equal(("incident_api", Supervisor), (company["ackSource"]!.GetValue<string>(), company["ackedByUserId"]!.GetValue<Guid>()));

        // Another company's user cannot acknowledge for gasco; the PSAP cannot acknowledge for a company.
        var (elec, elecEmail, elecPassword) = await OnboardCompanyAsync("elec");
        using var elecAdmin = As("Bearer " + (await LoginAsync(elecEmail, elecPassword)).AccessToken);
        var other = await RaiseAsync("critical", Gasco);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(elecAdmin, HttpMethod.Post, $"/api/v1/incidents/{other}/ack")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(Admin, HttpMethod.Post, $"/api/v1/incidents/{other}/ack")).Status);
        Assert.NotEqual(Guid.Empty, elec);
    }

    [Fact]
    public async Task An_acknowledgement_racing_the_deadline_never_leaves_a_later_tier_live_after_it()
    {
        await SetUpAsync(repeatCount: 0);
        using var oncall = await AsResponderAsync("oncall@gasco.example");
        int ackFirst = 0, stepFirst = 0;
        for (var i = 0; i < 30; i++)
        {
            var id = await RaiseAsync("critical", Gasco);
            var incident = await IncidentAsync(id);
            var notification = Company(incident)["notifications"]![0]!["id"]!.GetValue<Guid>();
            var due = NextDeadline(incident)!.Value;
            var start = new TaskCompletionSource();
            var ack = Task.Run(async () => { await start.Task; return await SendAsync(oncall, HttpMethod.Post, $"/api/v1/notifications/{notification}/ack"); });
            var head = TimeSpan.FromMilliseconds(i % 15 * 5); // the HTTP acknowledgement has further to go: give it 0–70 ms head start
            var fire = Task.Run(async () => { await start.Task; await Task.Delay(head); return await FireAsync(due.AddSeconds(1)); });
            start.SetResult();
            Assert.Equal(HttpStatusCode.OK, (await ack).Status);
            var fired = (await fire).Any(s => s.IncidentId == id);

            await using var c = await OwnerConnectionAsync();
            var live = await c.ExecuteScalarAsync<int>("""
                select count(*) from notifications where incident_id = @id and kind = 'company' and tier > 0 and ack_status = 'pending' and escalation_cancelled_at is null
                """, new { id });
            var later = await c.ExecuteScalarAsync<int>("select count(*) from notifications where incident_id = @id and kind = 'company' and tier > 0", new { id });
            Assert.Equal(0, live); // a tier notified before the ack had its deadline cancelled by it; none was notified after it
            Assert.Equal(fired ? 1 : 0, later);
            Assert.Equal("acknowledged", (await IncidentAsync(id))["incident"]!["status"]!.GetValue<string>());
            if (fired) stepFirst++; else ackFirst++;
        }
        Assert.Empty(await FireAsync(DateTimeOffset.UtcNow.AddDays(1)));
        Console.WriteLine($"race: acknowledgement first {ackFirst} times, escalation first {stepFirst} times");
    }

    [Fact]
    public async Task A_company_nobody_can_be_reached_at_gets_the_psap_users_alerted_at_once()
    {
        await SetUpAsync(repeatCount: 0);
        var unreachable = await CompanyWithRuleAsync("nochannels"); // no channel at all

        var id = await RaiseAsync("critical", unreachable);
        var incident = await IncidentAsync(id);

        Assert.True(Company(incident)["noRecipients"]!.GetValue<bool>());
        var alert = Assert.Single(incident["psapAlerts"]!.AsArray())!;
        Assert.Equal(PsapAdmin, alert["notifiedUserId"]!.GetValue<Guid>());
        Assert.Null(NextDeadline(incident)); // nobody to wait for
        await Wait.UntilAsync(async () => (await IncidentAsync(id))["psapAlerts"]![0]!["deliveries"]![0]!["sendStatus"]!.GetValue<string>() == "sent",
            TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_company_added_after_the_incident_was_acknowledged_still_escalates()
    {
        await SetUpAsync(repeatCount: 0);
        using var oncall = await AsResponderAsync("oncall@gasco.example");
        var id = await RaiseAsync("critical", Gasco);
        Assert.Equal("acknowledged", (await SendAsync(oncall, HttpMethod.Post, $"/api/v1/incidents/{id}/ack")).Body!["incidentStatus"]!.GetValue<string>());
        var late = await CompanyWithRuleAsync("latecomer", "email");
        var added = await SendAsync(Admin, HttpMethod.Post, $"/api/v1/incidents/{id}/agencies", new { agencyIds = new[] { late } });
        Assert.Equal(HttpStatusCode.OK, added.Status);
        Assert.Equal("open", added.Body!["incident"]!["status"]!.GetValue<string>()); // waiting for the newcomer again

        var due = (await IncidentAsync(id))["companies"]!.AsArray().Single(c => c!["agencyId"]!.GetValue<Guid>() == late)!["nextDeadline"]!.GetValue<DateTimeOffset>();
        var step = Assert.Single(await FireAsync(due.AddSeconds(1)));

        Assert.Equal((late, EscalationOutcome.Exhausted), (step.CompanyId, step.Outcome)); // one tier: the PSAP is told, not dropped
        Assert.Equal(1, await LoggedAsync(id, "escalation_exhausted"));
        Assert.Single((await IncidentAsync(id))["psapAlerts"]!.AsArray());
    }

    [Fact]
    public async Task A_resolved_incident_drops_its_deadlines_instead_of_escalating()
    {
        await SetUpAsync(repeatCount: 0);
        var id = await RaiseAsync("critical", Gasco);
        var due = NextDeadline(await IncidentAsync(id))!.Value;
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(Admin, HttpMethod.Post, $"/api/v1/incidents/{id}/resolve")).Status);
        var step = Assert.Single(await FireAsync(due.AddSeconds(1)));
        Assert.Equal(EscalationOutcome.Dropped, step.Outcome);
        var incident = await IncidentAsync(id);
        Assert.Empty(incident["psapAlerts"]!.AsArray());
        Assert.Single(Company(incident)["notifications"]!.AsArray());
        Assert.Empty(await FireAsync(DateTimeOffset.UtcNow.AddDays(1)));
        Assert.IsType<JsonObject>(incident["incident"]);
    }
}
