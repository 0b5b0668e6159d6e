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

    /// <summary>Links a CAD call to this incident (logged on the incident); linking it again is harmless, to another incident a conflict.</summary>
    Task<CallLinkResult> LinkCallAsync(AgencyContext caller, Guid callId);

    Task<IncidentCommandResult> CloseAsync(AgencyContext caller);

    /// <summary>
    /// Fires whatever is due and holds a timer (and a reminder) for the incident's next live deadline. Called by the grain's own
    /// timer and reminder, by a writer outside the grain that set a deadline, and by every silo's recovery scan for a deadline left
    /// overdue (its silo died). Idempotent.
    /// </summary>
    [OneWay]
    Task EscalateWhenDueAsync();

    /// <summary>A writer outside this grain committed something the incident's screens show (a CAD update's log entry): drop the copy held and tell them.</summary>
    [OneWay]
    Task ChangedAsync();

    /// <summary>A notification grain recorded a send's outcome: the deliveries as they are now, for the copy held.</summary>
    [OneWay]
    Task DeliveriesChangedAsync(IReadOnlyList<DeliveryChange> changes);

    /// <summary>
    /// Work a writer outside this grain left in the incident's inbox (a CAD or EIDO call to raise as this incident, a linked call's
    /// new address or priority, a recipient found unreachable): applied and removed, each in one transaction. From whoever committed it, and from the recovery for
    /// any left behind. Idempotent.
    /// </summary>
    [OneWay]
    Task InboxAsync();

    /// <summary>A call to raise as this incident, handed over by the transaction that left it in the inbox; see <see cref="IncidentRaise"/>.</summary>
    [OneWay]
    Task RaiseAsync(IncidentRaise raise);
}

/// <summary>
/// One incident, held in memory: the single writer of its commands and its companies' escalation. The grain loads the incident
/// (its companies, notifications and deliveries) once when first asked and keeps it; a command decides from that copy, answers a
/// repeat or a refusal without touching PostgreSQL, and writes a change in one transaction that commits before the caller is
/// answered — from the copy, updated with what was written. PostgreSQL stays the durable truth: the rows carry versions and row
/// locks, so a second activation during a failover cannot overwrite them. Work that arises outside the grain — a CAD or EIDO
/// call to raise, a linked call's new address or priority, an unreachable recipient's PSAP alert — is left in the incident's
/// inbox by the transaction that found it, and this grain applies it (<see cref="IIncidentGrain.InboxAsync"/>,
/// <see cref="IIncidentGrain.RaiseAsync"/>); a notification grain tells it when a delivery's outcome is recorded, and a CAD
/// update's log entry makes it read the incident again when next asked (<see cref="IIncidentGrain.ChangedAsync"/>).
/// </summary>
/// <remarks>
/// The deadlines are rows (<c>notifications.escalation_due_at</c>): a grain timer fires each at its instant, a reminder due at it
/// (registered before the command that set it returns) revives the grain after a restart, and the silos' recovery scan hands
/// over any deadline left overdue. Firing is idempotent against the rows: a step takes only deadlines still live under the
/// company's row lock, so a repeated tick, a reminder after the timer, or a second activation during a failover fires nothing twice.
/// </remarks>
internal sealed class IncidentGrain(DispatchStore store, TimeProvider time, ILogger<IncidentGrain> logger) : Grain, IIncidentGrain, IRemindable
{
    private const string Deadline = "escalation-deadline";
    public static readonly ActivitySource Source = new("Dispatch.Escalations");

    /// <summary>A span per command, around its reads and writes: an incident's commands are findable in a trace, and countable.</summary>
    public static readonly ActivitySource Commands = new("Dispatch.Incidents");
    private static readonly Meter Meter = new("Dispatch.Escalations");
    private static readonly Histogram<double> Lateness = Meter.CreateHistogram<double>("dispatch.escalation.lateness", "s",
        "How long after its deadline an escalation step committed.");
    private static readonly Counter<long> Fired = Meter.CreateCounter<long>("dispatch.escalations", "{escalation}",
        "Escalation steps fired, by outcome (next_tier, repeat, exhausted, dropped) and priority.");
    private static readonly Counter<long> Loads = Meter.CreateCounter<long>("dispatch.incident.loads", "{load}",
        "Times an incident grain read its incident from PostgreSQL (activation, or after a change made outside it).");

    private GrainWakeUp? _wakeUp;
    private GrainWakeUp WakeUp => _wakeUp ??= new GrainWakeUp(this, Deadline, EscalateWhenDueAsync, time, durable: true);
    private Guid Id => this.GetPrimaryKey();

    private IncidentDetail? _held;    // the incident as committed; null until read (or after a change made outside this grain)

    /// <summary>The incident as committed, read once and then kept; null when there is no such incident.</summary>
    private async Task<IncidentDetail?> HeldAsync()
    {
        if (_held is not null) return _held;
        await using var scope = await store.BeginEngineAsync();
        _held = await IncidentViews.GetAsync(scope, Id);
        if (_held is not null) Loads.Add(1);
        return _held;
    }

    public Task ChangedAsync()
    {
        _held = null;
        return PublishAsync("changed");
    }

    public Task DeliveriesChangedAsync(IReadOnlyList<DeliveryChange> changes)
    {
        if (_held is { } held) _held = Delivered(held, changes);
        return PublishAsync("delivery");
    }

    private Guid[]? _audience; // the agencies that see this incident: its PSAP and its companies, as last held

    /// <summary>
    /// Tells the live screens of every agency that sees the incident (its PSAP and its companies) what changed, after the commit.
    /// One-way and best effort: a screen that misses it reads the incident again when it reconnects; a command never waits on it.
    /// </summary>
    private async Task PublishAsync(string change)
    {
        try
        {
            // From the copy held; read only when the grain holds neither the copy nor an earlier audience (a fresh activation).
            if ((_held is not null || _audience is null) && await HeldAsync() is { } held)
                _audience = [held.Incident.AgencyId, .. held.Companies.Select(c => c.AgencyId)];
            if (_audience is null) return;
            var published = new IncidentEvent(Id, change, time.GetUtcNow());
            foreach (var agency in _audience) _ = GrainFactory.GetGrain<IIncidentFeedGrain>(agency).PublishAsync(published);
        }
        catch (Exception e) when (DatabaseUnavailableException.IsUnreachable(e))
        {
            logger.LogDebug("Incident {IncidentId}'s {Change} not published: the database is unreachable", Id, change);
        }
    }

    /// <summary>The copy with the deliveries as their notification grain reported them.</summary>
    private static IncidentDetail Delivered(IncidentDetail held, IReadOnlyList<DeliveryChange> changes)
    {
        var byId = changes.ToDictionary(c => c.Delivery.Id, c => c.Delivery);
        NotificationView Update(NotificationView n) => n.Deliveries.Any(d => byId.ContainsKey(d.Id))
            ? n with { Deliveries = n.Deliveries.Select(d => byId.GetValueOrDefault(d.Id, d)).ToList() }
            : n;
        return held with
        {
            Companies = held.Companies.Select(c => c with { Notifications = c.Notifications.Select(Update).ToList() }).ToList(),
            PsapAlerts = held.PsapAlerts.Select(Update).ToList(),
        };
    }

    public Task<IncidentCommandResult> CreateAsync(AgencyContext caller, IncidentDraft draft) => CreateAsync(caller, draft, null);

    /// <param name="raise">Raising a CAD or EIDO call from the inbox: companies the PSAP may no longer assign are left out (and
    /// logged) instead of refusing the create, and the inbox item goes in the create's own transaction.</param>
    private async Task<IncidentCommandResult> CreateAsync(AgencyContext caller, IncidentDraft draft, IncidentRaise? raise)
    {
        using var activity = Commands.StartActivity("incident create");
        if (_held is { } known) return await ReplayAsync(known.Incident, caller, draft);
        var now = Time.Stored(time);
        GrainWakes wakes;
        IncidentState incident;
        var companies = new List<CompanyView>();
        await using (var scope = await store.BeginAsync(caller))
        {
            // One read: whether this is a repeat, and what the caller may assign.
            var found = await IncidentCreation.ReadAsync(scope, Id, draft.CompanyIds);
            if (found.Existing is { } existing)
            {
                if (existing.AgencyId == caller.AgencyId) _held = await IncidentViews.GetAsync(scope, Id); // its own incident: it sees all of it
                return await ReplayAsync(existing, caller, draft);
            }
            var dropped = draft.CompanyIds.Where(c => !found.Assignable.ContainsKey(c)).ToList();
            if (dropped.Count > 0 && raise is null) return IncidentCommandResult.Invalid("agencyIds", NotAssignableException.Because(dropped[0]));
            draft = draft with { CompanyIds = [.. draft.CompanyIds.Except(dropped)] };
            // One batch: the incident, its companies, their notifications and deliveries (claimed for this silo), what sending takes.
            (incident, var written) = await IncidentCreation.WriteAsync(scope, Id, draft, found.Assignable, now);
            companies.AddRange(written);
            try
            {
                if (draft.CfsIncidentId is { } call && await CfsRecords.LinkAsync(scope, call, Id, now) is null) return IncidentCommandResult.NotFound;
            }
            catch (AlreadyLinkedException e)
            {
                return IncidentCommandResult.Conflict(e.Message);
            }
            if (raise is not null)
            {
                // A company unlinked or deactivated since the mapping was written: the PSAP sees it on the incident.
                foreach (var company in dropped)
                    await Communications.AppendAsync(scope, new CommunicationEntry(Id, caller.AgencyId, "auto_assign_failed", "internal",
                        $"Company {company} from the mapping could not be assigned: it is not an active company this PSAP works with.",
                        new { company_id = company, cfs_incident_id = draft.CfsIncidentId }));
                await IncidentInbox.RemoveAsync(scope, raise.InboxItemId);
            }
            await scope.CommitAsync();
            wakes = scope.Wakes;
        }
        Hold(new IncidentDetail(incident, companies, []), wakes);
        WakeUp.StartEmpty(); // a new incident: no deadline or reminder from an earlier activation
        await AfterCommitAsync(wakes);
        await PublishAsync("created");
        return IncidentCommandResult.Done(await HeldAsync());
    }

    /// <summary>A create repeated (same idempotency key): the same incident is answered again, anything else is a conflict.</summary>
    private async Task<IncidentCommandResult> ReplayAsync(IncidentState existing, AgencyContext caller, IncidentDraft draft)
    {
        if (!draft.Made(existing) || existing.AgencyId != caller.AgencyId)
            return IncidentCommandResult.Conflict("This Idempotency-Key was already used for a different incident.");
        // If this activation knows nothing of the deadlines (the first attempt's silo died after its commit, before it scheduled
        // anything), it takes them up and their reminder now; queued deliveries go to the recovery scan.
        if (!WakeUp.Known) await EscalateWhenDueAsync();
        return new IncidentCommandResult(CommandOutcome.Replayed, Detail: await HeldAsync());
    }

    public async Task<IncidentCommandResult> AssignAsync(AgencyContext caller, IReadOnlyList<Guid> companyIds, string? traceParent)
    {
        using var activity = Commands.StartActivity("incident assign");
        return await Concurrency.RetryOnConflictAsync(async _ =>
        {
            if (await HeldAsync() is not { } held || held.Incident.AgencyId != caller.AgencyId) return IncidentCommandResult.NotFound;
            if (held.Incident.Status is IncidentStatus.Resolved or IncidentStatus.Closed)
                return IncidentCommandResult.Conflict($"The incident is {held.Incident.Status}; companies can no longer be added.");
            var fresh = companyIds.Where(c => held.Companies.All(assigned => assigned.AgencyId != c)).ToList();
            if (fresh.Count == 0) return IncidentCommandResult.Done(await HeldAsync()); // every one already assigned: nothing to write

            var now = Time.Stored(time);
            GrainWakes wakes;
            var incident = held.Incident;
            var added = new List<CompanyView>();
            await using (var scope = await store.BeginAsync(caller))
            {
                try
                {
                    foreach (var company in fresh)
                        if (await Assignments.AssignAsync(scope, incident, company, now, traceParent) is { } assigned) added.Add(assigned.Company);
                }
                catch (NotAssignableException e)
                {
                    return IncidentCommandResult.Invalid("agencyIds", e.Message);
                }
                // Every company had acknowledged; a new one has not: the incident is open again until it does.
                if (added.Count > 0 && incident.Status == IncidentStatus.Acknowledged) incident = await SaveAsync(scope, incident, incident.Reopen());
                await scope.CommitAsync();
                wakes = scope.Wakes;
            }
            Hold(held with { Incident = incident, Companies = held.Companies.Concat(added).ToList() }, wakes);
            await AfterCommitAsync(wakes);
            await PublishAsync("assigned");
            return IncidentCommandResult.Done(await HeldAsync());
        });
    }

    public async Task<IncidentCommandResult> AcknowledgeAsync(AgencyContext caller, Guid? notificationId, string source)
    {
        using var activity = Commands.StartActivity("incident acknowledge");
        return await Concurrency.RetryOnConflictAsync(async _ =>
        {
            var held = await HeldAsync();
            if (held is not null && Repeat(held, caller, notificationId) is { } repeated)
                return new IncidentCommandResult(CommandOutcome.Done, Acknowledgement: repeated);

            var now = Time.Stored(time);
            Acknowledgement? ack;
            GrainWakes wakes;
            await using (var scope = await store.BeginAsync(caller))
            {
                if (held is not null && First(held, caller, notificationId) is ({ } company, var notification))
                {
                    // The common case, decided from the copy and written in one batch.
                    try
                    {
                        ack = await Acknowledgements.AcknowledgeFirstAsync(scope, held.Incident, notification, company.AssignedAt, source, caller.UserId, now);
                    }
                    catch (ConcurrencyConflictException)
                    {
                        _held = null; // the copy was stale (a second activation acknowledged first): read again and decide again
                        throw;
                    }
                }
                else
                {
                    ack = notificationId is { } id
                        ? await Acknowledgements.AcknowledgeAsync(scope, id, source, caller.UserId, now)
                        : await Acknowledgements.AcknowledgeIncidentAsync(scope, Id, source, caller.UserId, now);
                    if (ack is null || ack.IncidentId != Id) return IncidentCommandResult.NotFound;
                }
                await scope.CommitAsync();
                wakes = scope.Wakes;
            }
            // A first acknowledgement is applied to the copy; the rarer ones (a PSAP alert seen, a second user of an acknowledged
            // company) are read again when next needed.
            if (held is not null && ack is { Repeated: false, Kind: "company" }) Hold(Acknowledged(held, ack), wakes);
            else _held = null;
            await AfterCommitAsync(wakes);
            // Every company has acknowledged: no deadline is live any more (one company's other deadlines simply find nothing to fire).
            if (!ack.Repeated && ack.IncidentStatus == IncidentStatus.Acknowledged) await WakeUp.SetAsync(null);
            if (!ack.Repeated) await PublishAsync("acknowledged");
            return new IncidentCommandResult(CommandOutcome.Done, Acknowledgement: ack);
        });
    }

    /// <summary>
    /// The caller's company and the notification it acknowledges with, when the copy says this is the company's first
    /// acknowledgement (the notification given is its own and pending; for the incident, the caller's own pending one, if any).
    /// Null when the copy cannot tell (the write path reads the rows).
    /// </summary>
    private static (CompanyView Company, Guid? Notification)? First(IncidentDetail held, AgencyContext caller, Guid? notificationId)
    {
        if (held.Companies.FirstOrDefault(c => c.AgencyId == caller.AgencyId) is not { Acknowledged: false } company) return null;
        if (notificationId is { } id)
            return company.Notifications.FirstOrDefault(n => n.Id == id) is { AckStatus: "pending" } given ? (company, given.Id) : null;
        var own = Own(company, caller);
        return own is null || own.AckStatus == "pending" ? (company, own?.Id) : null;
    }

    /// <summary>The caller's own notification of the company, as <see cref="Acknowledgements.AcknowledgeIncidentAsync"/> picks it: pending first, newest first.</summary>
    private static NotificationView? Own(CompanyView company, AgencyContext caller) => caller.UserId is { } user
        ? company.Notifications.Where(n => n.NotifiedUserId == user)
            .OrderByDescending(n => n.AckStatus == "pending").ThenByDescending(n => n.CreatedAt).ThenByDescending(n => n.Id).FirstOrDefault()
        : null;

    /// <summary>
    /// An acknowledgement already recorded, answered from the copy: the caller's notification (or, for the incident, their own
    /// latest one) already acknowledged, or their company already acknowledged with no notification of theirs left pending.
    /// Null when the copy does not know the answer (the write path decides).
    /// </summary>
    private Acknowledgement? Repeat(IncidentDetail held, AgencyContext caller, Guid? notificationId)
    {
        if (held.Companies.FirstOrDefault(c => c.AgencyId == caller.AgencyId) is not { } company) return null;
        var own = notificationId is { } id ? company.Notifications.FirstOrDefault(n => n.Id == id) : Own(company, caller);
        if (notificationId is not null && own is null) return null;
        if (own is { AckStatus: "acked" })
            return new Acknowledgement(own.Id, Id, company.AgencyId, own.AckSource!, own.AckedByUserId, own.AckedAt!.Value, true,
                held.Incident.Status, held.Incident.Priority, null);
        if (own is null && company.Acknowledged)
            return new Acknowledgement(null, Id, company.AgencyId, company.AckSource!, company.AckedByUserId, company.AckedAt!.Value, true,
                held.Incident.Status, held.Incident.Priority, null);
        return null;
    }

    /// <summary>The copy after a company's first acknowledgement, as <see cref="Acknowledgements"/> wrote it.</summary>
    private static IncidentDetail Acknowledged(IncidentDetail held, Acknowledgement ack)
    {
        var companies = held.Companies.Select(c =>
        {
            if (c.AgencyId != ack.CompanyId) return c;
            var notifications = c.Notifications
                .Select(n => n.Id == ack.NotificationId && n.AckStatus == "pending"
                    ? n with { AckStatus = "acked", AckSource = ack.AckSource, AckedAt = ack.AckedAt, AckedByUserId = ack.AckedByUserId }
                    : n)
                .Select(n => n is { AckStatus: "pending", EscalationCancelledAt: null } ? n with { EscalationCancelledAt = ack.AckedAt } : n)
                .ToList();
            return c with
            {
                Acknowledged = true, AckedAt = ack.AckedAt, AckSource = ack.AckSource, AckedByUserId = ack.AckedByUserId,
                NextDeadline = IncidentDetail.NextDeadline(notifications), Notifications = notifications,
            };
        }).ToList();
        var incident = held.Incident;
        if (ack.IncidentStatus == IncidentStatus.Acknowledged && incident.Status == IncidentStatus.Open)
            incident = incident.Acknowledge(ack.AckedAt) with { Version = incident.Version + 1 };
        return held with { Incident = incident, Companies = companies };
    }

    public async Task InboxAsync()
    {
        using var activity = Commands.StartActivity("incident inbox");
        IReadOnlyList<IncidentInboxItem> waiting;
        await using (var engine = await store.BeginEngineAsync()) waiting = await IncidentInbox.ForAsync(engine, Id);
        foreach (var item in waiting)
        {
            if (item.Kind == IncidentInbox.Raise) await RaiseFromInboxAsync(item);
            else if (item.Kind == IncidentInbox.PsapAlert) await AlertUnreachableAsync(item);
            else await ApplyCallUpdateAsync(item);
        }
    }

    public async Task RaiseAsync(IncidentRaise raise)
    {
        var result = await CreateAsync(new AgencyContext(raise.PsapAgencyId), raise.Draft, raise);
        if (result.Outcome == CommandOutcome.Done) return; // the create removed the inbox item
        // Already raised (a repeat after a crash between the create and the hand-over), or the call linked elsewhere meanwhile:
        // nothing to create; the item goes.
        if (result.Outcome != CommandOutcome.Replayed)
            logger.LogWarning("Incident {IncidentId} was not raised from call {CallId}: {Outcome} {Message}", Id, raise.Draft.CfsIncidentId, result.Outcome,
                result.Message);
        await using var scope = await store.BeginAsync(new AgencyContext(raise.PsapAgencyId));
        await IncidentInbox.RemoveAsync(scope, raise.InboxItemId);
        await scope.CommitAsync();
    }

    /// <summary>A raise left in the inbox with nobody told (its committer died): the call read again, then raised as <see cref="RaiseAsync"/> does.</summary>
    private async Task RaiseFromInboxAsync(IncidentInboxItem item)
    {
        var callId = item.CfsIncidentId!.Value; // a raise always names its call
        CfsIncidentView? call;
        await using (var scope = await store.BeginAsync(new AgencyContext(item.AgencyId)))
            call = await CfsRecords.GetAsync(scope, callId);
        await RaiseAsync(new IncidentRaise(item.Id, item.AgencyId,
            IncidentInbox.Draft(IncidentInbox.PlanOf(item), callId, call?.Description ?? "", call?.Address, call?.IncidentType)));
    }

    /// <summary>A recipient at a company was unreachable on every channel: the PSAP users the company's rule names are alerted, and the item goes, in one transaction.</summary>
    private async Task AlertUnreachableAsync(IncidentInboxItem item)
    {
        GrainWakes wakes;
        await using (var scope = await store.BeginEngineAsync())
        {
            var company = IncidentInbox.CompanyOf(item);
            if (await IncidentStore.GetAsync(scope, Id) is { } incident)
                await PsapAlerts.SendAsync(scope, incident, company, AlertReason.Unreachable, await scope.Routing.RuleAsync(scope, company, incident.Priority), 0, 0,
                    Time.Stored(time));
            await IncidentInbox.RemoveAsync(scope, item.Id);
            await scope.CommitAsync();
            wakes = scope.Wakes;
        }
        if (wakes.Changed(Id)) _held = null; // the alert's notifications: read again when next asked
        await AfterCommitAsync(wakes);
        await PublishAsync("changed");
    }

    /// <summary>A linked call's new address or priority: the incident follows it and everyone notified is told, and the item goes, in one transaction.</summary>
    private async Task ApplyCallUpdateAsync(IncidentInboxItem item)
    {
        GrainWakes wakes;
        await using (var scope = await store.BeginAsync(new AgencyContext(item.AgencyId)))
        {
            await CfsUpdates.ApplyAsync(scope, Id, item.CfsIncidentId!.Value, IncidentInbox.FieldsOf(item), Time.Stored(time)); // an update names its call
            await IncidentInbox.RemoveAsync(scope, item.Id);
            await scope.CommitAsync();
            wakes = scope.Wakes;
        }
        _held = null; // its address or priority moved: read again when next asked
        await AfterCommitAsync(wakes);
        await PublishAsync("changed");
    }

    public async Task<CallLinkResult> LinkCallAsync(AgencyContext caller, Guid callId)
    {
        using var activity = Commands.StartActivity("incident link call");
        if (await HeldAsync() is not { } held || held.Incident.AgencyId != caller.AgencyId) return new CallLinkResult(CommandOutcome.NotFound);
        await using var scope = await store.BeginAsync(caller);
        try
        {
            if (await CfsRecords.LinkAsync(scope, callId, Id, Time.Stored(time)) is not { } linked) return new CallLinkResult(CommandOutcome.NotFound);
            await scope.CommitAsync();
            await PublishAsync("linked");
            return new CallLinkResult(CommandOutcome.Done, Call: linked);
        }
        catch (AlreadyLinkedException e)
        {
            return new CallLinkResult(CommandOutcome.Conflict, e.Message);
        }
    }

    public Task<IncidentCommandResult> ResolveAsync(AgencyContext caller) => TransitionAsync("incident resolve", caller, s => s.Resolve(Time.Stored(time)));

    public Task<IncidentCommandResult> CloseAsync(AgencyContext caller) => TransitionAsync("incident close", caller, s => s.Close(Time.Stored(time)));

    private async Task<IncidentCommandResult> TransitionAsync(string name, AgencyContext caller, Func<IncidentState, IncidentState> decide)
    {
        using var activity = Commands.StartActivity(name);
        try
        {
            return await Concurrency.RetryOnConflictAsync(async _ =>
            {
                if (await HeldAsync() is not { } held || held.Incident.AgencyId != caller.AgencyId) return IncidentCommandResult.NotFound;
                var after = decide(held.Incident);
                if (after == held.Incident) return IncidentCommandResult.Done(await HeldAsync());
                IncidentState saved;
                await using (var scope = await store.BeginAsync(caller))
                {
                    saved = await SaveAsync(scope, held.Incident, after);
                    await scope.CommitAsync();
                }
                _held = held with { Incident = saved };
                await PublishAsync(saved.Status);
                return IncidentCommandResult.Done(await HeldAsync());
            });
        }
        catch (IllegalTransitionException e)
        {
            return IncidentCommandResult.Conflict(e.Message);
        }
    }

    /// <summary>Saves a change decided from the copy; when the row moved under it (a CAD update), the copy is dropped and the command runs again.</summary>
    private async Task<IncidentState> SaveAsync(AgencyScope scope, IncidentState before, IncidentState after)
    {
        try
        {
            return await IncidentStore.SaveAsync(scope, before, after);
        }
        catch (ConcurrencyConflictException)
        {
            _held = null;
            throw;
        }
    }

    /// <summary>Keeps the copy after this grain's own commit, unless the transaction also wrote what the grain does not apply itself.</summary>
    private void Hold(IncidentDetail detail, GrainWakes wakes) => _held = wakes.Changed(Id) ? null : detail;

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
        if (wakes.Changed(Id)) _held = null; // a step notified the next tier or alerted the PSAP: read again when next asked
        await wakes.SendAsync(GrainFactory, Id);
        if (steps.Count > 0) await PublishAsync("escalated");
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
