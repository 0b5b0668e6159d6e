using System.Diagnostics;
using System.Diagnostics.Metrics;
using Dispatch.Grains.Cfs;
using Dispatch.Grains.Escalation;
using Dispatch.Grains.Notifications;
using Dispatch.Grains.Routing;
using Dispatch.Grains.Storage;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace Dispatch.Grains.Incidents;

/// <summary>One incident: its lifecycle commands and its companies' escalation deadlines.</summary>
public interface IIncidentGrain : IGrainWithGuidKey
{
    /// <summary>Raises the incident (this grain's key is its id) and notifies its companies; a repeat of the same create changes nothing.</summary>
    Task<IncidentCommandResult> CreateAsync(AgencyContext caller, IncidentDraft draft);

    /// <summary>Adds companies; they are notified at once and an acknowledged incident opens again.</summary>
    Task<IncidentCommandResult> AssignAsync(AgencyContext caller, IReadOnlyList<Guid> companyIds, string? traceParent);

    /// <summary>The caller's company acknowledges: through one of its notifications, or the incident itself when none is given.</summary>
    Task<IncidentCommandResult> AcknowledgeAsync(AgencyContext caller, Guid? notificationId, string source);

    Task<IncidentCommandResult> ResolveAsync(AgencyContext caller);

    Task<IncidentCommandResult> CloseAsync(AgencyContext caller);

    /// <summary>
    /// Fires whatever is due and holds a timer (and a reminder) for the incident's next live deadline. Called by the grain's own
    /// timer and reminder, by a writer outside the grain that set a deadline, and by every silo's recovery scan for a deadline left
    /// overdue (its silo died). Idempotent.
    /// </summary>
    [OneWay]
    Task EscalateWhenDueAsync();
}

/// <summary>
/// An incident's commands and escalation timing. Every change to the incident goes through here, one at a time, and is written to
/// the spec tables in one transaction before the caller is answered; the grain keeps only its next deadline in memory. The
/// deadlines are rows (<c>notifications.escalation_due_at</c>): a grain timer fires each at its instant, a reminder due at it
/// (registered before the command that set it returns) revives the grain after a restart, and the silos' recovery scan hands
/// over any deadline left overdue. Firing is idempotent against the rows: a step takes only deadlines still live under the
/// company's row lock, so a repeated tick, a reminder after the timer, or a second activation during a failover fires nothing twice.
/// </summary>
public sealed class IncidentGrain(DispatchStore store, TimeProvider time, ILogger<IncidentGrain> logger) : Grain, IIncidentGrain, IRemindable
{
    private const string Deadline = "escalation-deadline";
    public static readonly ActivitySource Source = new("Dispatch.Escalations");
    private static readonly Meter Meter = new("Dispatch.Escalations");
    private static readonly Histogram<double> Lateness = Meter.CreateHistogram<double>("dispatch.escalation.lateness", "s",
        "How long after its deadline an escalation step committed.");
    private static readonly Counter<long> Fired = Meter.CreateCounter<long>("dispatch.escalations", "{escalation}",
        "Escalation steps fired, by outcome (next_tier, repeat, exhausted, dropped) and priority.");

    private GrainWakeUp? _wakeUp;
    private GrainWakeUp WakeUp => _wakeUp ??= new GrainWakeUp(this, Deadline, EscalateWhenDueAsync, time, durable: true);
    private Guid Id => this.GetPrimaryKey();

    public async Task<IncidentCommandResult> CreateAsync(AgencyContext caller, IncidentDraft draft)
    {
        var now = time.GetUtcNow();
        GrainWakes wakes;
        IncidentDetail? detail;
        bool replayed;
        await using (var scope = await store.BeginAsync(caller))
        {
            if (await IncidentStore.GetAsync(scope, Id) is { } existing)
            {
                if (!draft.Made(existing) || existing.AgencyId != caller.AgencyId)
                    return IncidentCommandResult.Conflict("This Idempotency-Key was already used for a different incident.");
                replayed = true;
            }
            else
            {
                var incident = await IncidentStore.CreateAsync(scope, Id, draft.ToNewIncident(), now);
                try
                {
                    foreach (var company in draft.CompanyIds) await Assignments.AssignAsync(scope, incident, company, now, draft.TraceParent);
                    if (draft.CfsIncidentId is { } call && await CfsRecords.LinkAsync(scope, call, Id, now) is null) return IncidentCommandResult.NotFound;
                }
                catch (NotAssignableException e)
                {
                    return IncidentCommandResult.Invalid("agencyIds", e.Message);
                }
                catch (AlreadyLinkedException e)
                {
                    return IncidentCommandResult.Conflict(e.Message);
                }
                replayed = false;
            }
            detail = await IncidentViews.GetAsync(scope, Id);
            await scope.CommitAsync();
            wakes = scope.Wakes;
        }
        if (replayed)
        {
            // A repeat. If this activation knows nothing of the incident (the first attempt's silo died after its commit, before it
            // scheduled anything), it takes up the deadlines and their reminder now; queued deliveries go to the recovery scan.
            if (!WakeUp.Known) await EscalateWhenDueAsync();
            return new IncidentCommandResult(CommandOutcome.Replayed, Detail: detail);
        }
        WakeUp.StartEmpty(); // a new incident: no deadline or reminder from an earlier activation
        await AfterCommitAsync(wakes);
        return IncidentCommandResult.Done(detail);
    }

    public async Task<IncidentCommandResult> AssignAsync(AgencyContext caller, IReadOnlyList<Guid> companyIds, string? traceParent)
    {
        var now = time.GetUtcNow();
        GrainWakes wakes;
        IncidentDetail? detail;
        await using (var scope = await store.BeginAsync(caller))
        {
            if (await IncidentStore.GetAsync(scope, Id) is not { } incident || incident.AgencyId != caller.AgencyId) return IncidentCommandResult.NotFound;
            if (incident.Status is IncidentStatus.Resolved or IncidentStatus.Closed)
                return IncidentCommandResult.Conflict($"The incident is {incident.Status}; companies can no longer be added.");
            var added = 0;
            try
            {
                foreach (var company in companyIds)
                    if (await Assignments.AssignAsync(scope, incident, company, now, traceParent) is not null) added++;
            }
            catch (NotAssignableException e)
            {
                return IncidentCommandResult.Invalid("agencyIds", e.Message);
            }
            // Every company had acknowledged; a new one has not: the incident is open again until it does.
            if (added > 0 && incident.Status == IncidentStatus.Acknowledged) await IncidentStore.SaveAsync(scope, incident, incident.Reopen());
            detail = await IncidentViews.GetAsync(scope, Id);
            await scope.CommitAsync();
            wakes = scope.Wakes;
        }
        await AfterCommitAsync(wakes);
        return IncidentCommandResult.Done(detail);
    }

    public async Task<IncidentCommandResult> AcknowledgeAsync(AgencyContext caller, Guid? notificationId, string source)
    {
        var now = time.GetUtcNow();
        Acknowledgement? ack;
        GrainWakes wakes;
        await using (var scope = await store.BeginAsync(caller))
        {
            ack = notificationId is { } id
                ? await Acknowledgements.AcknowledgeAsync(scope, id, source, caller.UserId, now)
                : await Acknowledgements.AcknowledgeIncidentAsync(scope, Id, source, caller.UserId, now);
            if (ack is null || ack.IncidentId != Id) return IncidentCommandResult.NotFound;
            await scope.CommitAsync();
            wakes = scope.Wakes;
        }
        await AfterCommitAsync(wakes);
        // Every company has acknowledged: no deadline is live any more (one company's other deadlines simply find nothing to fire).
        if (!ack.Repeated && ack.IncidentStatus == IncidentStatus.Acknowledged) await WakeUp.SetAsync(null);
        return new IncidentCommandResult(CommandOutcome.Done, Acknowledgement: ack);
    }

    public Task<IncidentCommandResult> ResolveAsync(AgencyContext caller) => TransitionAsync(caller, s => s.Resolve(time.GetUtcNow()));

    public Task<IncidentCommandResult> CloseAsync(AgencyContext caller) => TransitionAsync(caller, s => s.Close(time.GetUtcNow()));

    private async Task<IncidentCommandResult> TransitionAsync(AgencyContext caller, Func<IncidentState, IncidentState> decide)
    {
        try
        {
            return await Concurrency.RetryOnConflictAsync(async _ =>
            {
                await using var scope = await store.BeginAsync(caller);
                if (await IncidentStore.GetAsync(scope, Id) is not { } before || before.AgencyId != caller.AgencyId) return IncidentCommandResult.NotFound;
                await IncidentStore.SaveAsync(scope, before, decide(before));
                var detail = await IncidentViews.GetAsync(scope, Id);
                await scope.CommitAsync();
                return IncidentCommandResult.Done(detail);
            });
        }
        catch (IllegalTransitionException e)
        {
            return IncidentCommandResult.Conflict(e.Message);
        }
    }

    // Nothing fires while the database is unreachable (nothing commits): this grain keeps the deadline and looks again in a second.
    public Task EscalateWhenDueAsync() => WakeUp.RunOrRetryAsync(EscalateAsync, logger, $"Escalation of incident {Id}");

    private async Task EscalateAsync()
    {
        IReadOnlyList<EscalationStep> steps;
        DateTimeOffset? next;
        GrainWakes wakes;
        using (var activity = Source.StartActivity("escalate"))
        {
            await using var scope = await store.BeginEngineAsync();
            steps = await EscalationEngine.FireIncidentAsync(scope, Id, time.GetUtcNow());
            next = await EscalationEngine.NextDueAsync(scope, Id) is { } due ? Time.Utc(due) : null;
            await scope.CommitAsync();
            wakes = scope.Wakes;
            activity?.SetTag("dispatch.escalation.steps", steps.Count);
        }
        Record(steps);
        await wakes.SendAsync(GrainFactory, Id);
        await WakeUp.SetAsync(next);
        if (next is null) DeactivateOnIdle();
    }

    // The reminder brings the grain back when its timer is gone (deactivated, or its silo stopped); while this activation's timer
    // is armed, a tick (due at the same moment, a period's repeat, or one repeated during an ownership change) has nothing to add.
    public Task ReceiveReminder(string reminderName, TickStatus status) => WakeUp.Pending ? Task.CompletedTask : EscalateWhenDueAsync();

    /// <summary>Hands the transaction's new work to its grains and takes this incident's new deadline, before the caller is answered.</summary>
    private async Task AfterCommitAsync(GrainWakes wakes)
    {
        await wakes.SendAsync(GrainFactory, Id);
        if (wakes.DeadlineOf(Id) is not { } due) return;
        if (WakeUp.Known) await WakeUp.EarlierAsync(due);
        else await EscalateWhenDueAsync(); // a fresh activation does not know the incident's other deadlines: read them
    }

    private void Record(IReadOnlyList<EscalationStep> steps)
    {
        // Lateness as the world sees it: from the deadline to the step's commit.
        var committed = time.GetUtcNow();
        foreach (var step in steps)
        {
            Lateness.Record(Math.Max(0, (committed - step.DueAt).TotalSeconds), new KeyValuePair<string, object?>("dispatch.priority", step.Priority));
            Fired.Add(1, new("dispatch.outcome", step.Outcome), new("dispatch.priority", step.Priority));
            logger.LogInformation("Escalation of company {CompanyId} on incident {IncidentId}: {Outcome} (tier {Tier}, cycle {Cycle}), {Lateness} ms after its deadline",
                step.CompanyId, step.IncidentId, step.Outcome, step.Tier + 1, step.Cycle, (long)(committed - step.DueAt).TotalMilliseconds);
        }
    }
}
