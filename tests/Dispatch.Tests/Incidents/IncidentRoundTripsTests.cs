using System.Collections.Concurrent;
using System.Diagnostics;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Storage;
using Dispatch.Tests.Escalation;
using Dispatch.Tests.Infrastructure;
using Orleans.TestingHost;

namespace Dispatch.Tests.Incidents;

/// <summary>
/// What an incident's grain asks of PostgreSQL per command, counted from the database driver's own trace: every command or batch
/// Npgsql sends inside a command's span is one round trip (the commit is one more). An active incident answers from memory: a
/// repeated acknowledgement costs nothing, a first one one batch, and no command reads the incident's rows again.
/// </summary>
[Trait("Tier", "Full")] // a TestCluster silo; alone, so that every Npgsql span in the process is this test's
[Collection(Alone.Name)]
public sealed class IncidentRoundTripsTests : EscalationWorld, IDisposable
{
    private readonly ConcurrentQueue<(string Source, string? ParentId, string Sql)> _sent = new();
    private readonly ConcurrentQueue<Activity> _deliveries = new();
    private readonly ActivityListener _listener;
    private TestCluster? _cluster;

    protected override bool RunsSilo => false;

    public IncidentRoundTripsTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Npgsql" or "Dispatch.Incidents" or "Dispatch.Deliveries",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.Source.Name == "Dispatch.Deliveries") _deliveries.Enqueue(activity);
                if (activity.Source.Name != "Npgsql") return;
                for (var parent = activity.Parent; parent is not null; parent = parent.Parent)
                {
                    if (parent.Source.Name is not ("Dispatch.Incidents" or "Dispatch.Deliveries")) continue;
                    var sql = activity.GetTagItem("db.query.text") as string ?? activity.GetTagItem("db.statement") as string ?? activity.DisplayName;
                    _sent.Enqueue((parent.Source.Name, parent.Id, sql));
                    return;
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await SetUpAsync(repeatCount: 0, ruleThroughApi: false);
        _cluster = await TestSilos.StartAsync(this, 1, new Dictionary<string, string?>
        {
            ["Dispatch:Email:PickupDirectory"] = Dispatch.Testing.TestRun.NewFolder("round-trips-"),
            ["Dispatch:Recovery:SweepInterval"] = "01:00:00",
        });
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

    public void Dispose() => _listener.Dispose();

    private IIncidentGrain Grain(Guid id) => _cluster!.Client.GetGrain<IIncidentGrain>(id);

    /// <summary>What <paramref name="command"/> sent to PostgreSQL (one entry per round trip, the commit aside).</summary>
    private async Task<(T Result, IReadOnlyList<string> Sent)> CountAsync<T>(Func<Task<T>> command)
    {
        _sent.Clear();
        var result = await command();
        return (result, Sent(s => s.Source == "Dispatch.Incidents"));
    }

    // A physical connection opened for the pool (Npgsql traces it as CONNECT) is the pool warming up, not the command's.
    private List<string> Sent(Func<(string Source, string? ParentId, string Sql), bool> which) =>
        _sent.Where(which).Select(s => s.Sql).Where(sql => !sql.StartsWith("CONNECT", StringComparison.Ordinal)).ToList();

    private static bool Reads(string sql) =>
        sql.Split(';').Any(s => s.TrimStart().StartsWith("select", StringComparison.OrdinalIgnoreCase) && !s.Contains("set_config"));

    [Fact]
    public async Task An_active_incident_answers_from_memory_and_a_first_acknowledgement_is_one_batch()
    {
        var id = Guid.CreateVersion7();
        var created = await Grain(id).CreateAsync(new AgencyContext(Psap, PsapAdmin),
            new IncidentDraft("critical", "Gas smell at school", "", "12 Elm Street", null, [Gasco], null));
        Assert.Equal(CommandOutcome.Done, created.Outcome);
        var oncall = new AgencyContext(Gasco, Oncall);

        // A create (the company's routing already in its agency grain's memory): one read, one batch, and the commit.
        var second = Guid.CreateVersion7();
        var (raised, createSent) = await CountAsync(() => Grain(second).CreateAsync(new AgencyContext(Psap, PsapAdmin),
            new IncidentDraft("critical", "Gas smell at the depot", "", "3 Mill Road", null, [Gasco], null)));
        Assert.Equal(CommandOutcome.Done, raised.Outcome);
        Assert.Single(raised.Detail!.Companies.Single().Notifications);
        var incidentsOwn = createSent.Where(sql => !sql.Contains("orleans", StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.True(incidentsOwn.Count <= 2, $"a create took {incidentsOwn.Count} round trips before its commit:\n" + string.Join("\n---\n", createSent));

        // Its delivery, handed to the notification's grain with the create's commit: sent with no transaction before it, and its
        // outcome, its log entry and the notification's next due moment written in one round trip (plus its commit).
        Activity? delivered = null;
        await Dispatch.Testing.Wait.UntilAsync(() => Task.FromResult((delivered = _deliveries.FirstOrDefault(a => Equals(a.GetTagItem("dispatch.incident.id"), second))) is not null),
            TimeSpan.FromSeconds(30));
        Assert.Equal("sent", delivered!.GetTagItem("dispatch.delivery.result"));
        var outcomeSent = Sent(s => s.ParentId == delivered.Id);
        Assert.True(outcomeSent.Count == 1, $"a sent delivery's outcome took {outcomeSent.Count} round trips before its commit:\n" + string.Join("\n---\n", outcomeSent));
        await using (var log = await Store.BeginAsync(new AgencyContext(Psap, PsapAdmin)))
            Assert.Contains("notification", (await CommunicationLog.ListAsync(log, second, 0, 50))!.Value.Items.Select(e => e.CommunicationType));

        // The company's first acknowledgement: decided from the incident held, written in one round trip (plus its commit).
        var (first, firstSent) = await CountAsync(() => Grain(id).AcknowledgeAsync(oncall, null, "api"));
        Assert.False(first.Acknowledgement!.Repeated);
        Assert.Equal(IncidentStatus.Acknowledged, first.Acknowledgement.IncidentStatus);
        Assert.True(firstSent.Count == 1, $"a first acknowledgement took {firstSent.Count} round trips before its commit:\n" + string.Join("\n", firstSent));

        // The same acknowledgement again, and the supervisor's for the company: answered from memory, nothing sent.
        var (again, againSent) = await CountAsync(() => Grain(id).AcknowledgeAsync(oncall, null, "api"));
        Assert.True(again.Acknowledgement!.Repeated);
        Assert.Equal(first.Acknowledgement.AckedAt, again.Acknowledgement.AckedAt);
        Assert.Empty(againSent);

        // Resolving writes the change and reads none of the incident's rows; the answer is the incident as held.
        var (resolved, resolveSent) = await CountAsync(() => Grain(id).ResolveAsync(new AgencyContext(Psap, PsapAdmin)));
        Assert.Equal(IncidentStatus.Resolved, resolved.Detail!.Incident.Status);
        Assert.True(resolved.Detail.Companies.Single().Acknowledged);
        Assert.DoesNotContain(resolveSent, Reads);

        // A refused command (resolving again) and a repeated create are answered without PostgreSQL.
        var (refused, refusedSent) = await CountAsync(() => Grain(id).ResolveAsync(new AgencyContext(Psap, PsapAdmin)));
        Assert.Equal(CommandOutcome.Conflict, refused.Outcome);
        Assert.Empty(refusedSent);

        // And what it holds is what the database holds.
        await using var scope = await Store.BeginAsync(new AgencyContext(Psap, PsapAdmin));
        var stored = await IncidentViews.GetAsync(scope, id);
        Assert.Equal(stored!.Incident, resolved.Detail.Incident);
        Assert.Equal(stored.Companies.Single() with { Notifications = [] }, resolved.Detail.Companies.Single() with { Notifications = [] });
    }
}
