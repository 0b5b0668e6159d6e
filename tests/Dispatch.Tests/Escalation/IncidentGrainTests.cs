using Dapper;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Notifications;
using Dispatch.Grains.Storage;
using Dispatch.Tests.Infrastructure;
using Orleans.TestingHost;

namespace Dispatch.Tests.Escalation;

/// <summary>
/// The incident grain on a two-silo Orleans TestCluster over the real database: commands straight to the grain, deadlines fired by
/// its own timers (the rule's timeout shortened to 10 s in the database, below what the API accepts, to keep the test short).
/// </summary>
[Trait("Tier", "Full")] // real processes: a Silo, the Api or the AppHost
[Collection(Alone.Name)]
public sealed class IncidentGrainTests : EscalationWorld
{
    private const int ShortTimeoutSeconds = 10;
    private TestCluster? _cluster;
    private TestCluster Cluster => _cluster ?? throw new InvalidOperationException("Start the cluster first.");

    protected override bool RunsSilo => false; // the identity world through the Api; the engine is the TestCluster below

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await SetUpAsync(repeatCount: 0, ruleThroughApi: false);
        await using (var c = await OwnerConnectionAsync())
            await c.ExecuteAsync("update escalation_rules set ack_timeout_seconds = @ShortTimeoutSeconds", new { ShortTimeoutSeconds });
    }

    private async Task StartClusterAsync(int silos = 2)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Dispatch:Email:PickupDirectory"] = Dispatch.Testing.TestRun.NewFolder("grains-"),
        };
        _cluster = await TestSilos.StartAsync(this, silos, settings);
    }

    public override async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.StopAllSilosAsync();
            await _cluster.DisposeAsync();
        }
        await base.DisposeAsync();
    }

    private IIncidentGrain Grain(Guid id) => Cluster.Client.GetGrain<IIncidentGrain>(id);

    private async Task<Guid> CreateAsync()
    {
        var id = Guid.CreateVersion7();
        var result = await Grain(id).CreateAsync(new AgencyContext(Psap, PsapAdmin),
            new IncidentDraft("critical", "Gas smell at school", "", "12 Elm Street", null, [Gasco], null));
        Assert.Equal(CommandOutcome.Done, result.Outcome);
        return id;
    }

    private async Task<int> RemindersAsync(Guid incident)
    {
        await using var c = await OwnerConnectionAsync();
        return await c.ExecuteScalarAsync<int>("select count(*) from orleansreminderstable where grainid like @key",
            new { key = $"%{incident:N}%" });
    }

    [Fact]
    public async Task Tiers_fire_in_order_at_their_deadlines_never_early_and_the_psap_user_is_alerted_at_each()
    {
        await StartClusterAsync();
        var id = await CreateAsync();
        Assert.Equal(1, await RemindersAsync(id)); // the deadline's reminder exists before the create returned

        await Wait.UntilAsync(async () => await LoggedAsync(id, "escalation_exhausted") == 1, TimeSpan.FromSeconds(3 * ShortTimeoutSeconds + 10));
        await using var c = await OwnerConnectionAsync();
        var steps = (await c.QueryAsync<(int Tier, Guid User, DateTime Due, DateTime? Escalated)>("""
            select tier, notified_user_id, escalation_due_at, escalated_at from notifications
            where incident_id = @id and kind = 'company' order by tier
            """, new { id })).ToList();
        Assert.Equal([(0, Oncall), (1, Supervisor)], steps.Select(s => (s.Tier, s.User)));
        Assert.All(steps, s => Assert.True(s.Escalated >= s.Due, $"tier {s.Tier} fired at {s.Escalated:O}, before its deadline {s.Due:O}"));
        Assert.Equal(2, await c.ExecuteScalarAsync<int>("select count(*) from notifications where incident_id = @id and kind = 'psap_alert'", new { id }));
        Assert.Equal(1, await LoggedAsync(id, "escalation")); // the next tier; the second step is the exhaustion
        await Wait.UntilAsync(async () => await RemindersAsync(id) == 0, TimeSpan.FromSeconds(10)); // nothing left to wake it for
    }

    [Fact]
    public async Task An_acknowledgement_stops_every_further_tier_even_when_it_races_the_deadline()
    {
        await StartClusterAsync();
        var early = new List<Guid>();
        var racing = new List<Guid>();
        for (var i = 0; i < 4; i++) early.Add(await CreateAsync());
        var createdAt = DateTimeOffset.UtcNow;
        for (var i = 0; i < 12; i++) racing.Add(await CreateAsync());
        var oncall = new AgencyContext(Gasco, Oncall);

        foreach (var id in early)
            Assert.NotNull((await Grain(id).AcknowledgeAsync(oncall, null, AckSource.IncidentApi)).Acknowledgement);
        foreach (var id in early) Assert.True(await RemindersAsync(id) == 0, $"reminders left for acknowledged {id}"); // no deadline, no reminder

        // The racing acknowledgements land around the deadline, from 400 ms before to 400 ms after.
        var untilRace = createdAt.AddSeconds(ShortTimeoutSeconds).AddMilliseconds(-400) - DateTimeOffset.UtcNow;
        if (untilRace > TimeSpan.Zero) await Task.Delay(untilRace);
        await Task.WhenAll(racing.Select(async (id, i) =>
        {
            await Task.Delay(i * 70);
            Assert.NotNull((await Grain(id).AcknowledgeAsync(oncall, null, AckSource.IncidentApi)).Acknowledgement);
        }));
        await Task.Delay(TimeSpan.FromSeconds(ShortTimeoutSeconds + 2)); // past every next-tier deadline there could be

        await using var c = await OwnerConnectionAsync();
        foreach (var id in early)
            Assert.True(await c.ExecuteScalarAsync<int>("select count(*) from notifications where incident_id = @id and tier > 0", new { id }) == 0,
                $"a next tier after an early acknowledgement on {id}");
        foreach (var id in racing.Concat(early))
        {
            // Whichever won the company's row lock: a step before the acknowledgement, or none; never a step after it.
            var after = await c.ExecuteScalarAsync<int>("""
                select count(*) from notifications n join incident_agencies a on a.incident_id = n.incident_id and a.agent_agency_id = n.agency_id
                where n.incident_id = @id and n.kind = 'company' and n.tier > 0 and n.created_at >= a.acked_at
                """, new { id });
            Assert.True(after == 0, $"{after} step(s) after the acknowledgement on {id}");
            Assert.True(await LoggedAsync(id, "escalation") <= 1, $"more than one step on {id}");
            Assert.True(await LoggedAsync(id, "escalation_exhausted") == 0, $"exhausted after an acknowledgement on {id}");
        }
    }
}
