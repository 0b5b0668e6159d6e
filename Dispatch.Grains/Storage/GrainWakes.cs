using Dispatch.Grains.Commands;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Notifications;

namespace Dispatch.Grains.Storage;

/// <summary>
/// The grains a transaction gave work to: notifications with a delivery queued, incidents with a deadline set, command systems with
/// a callback queued. Recorded as the rows are written and handed to the grains by whoever committed, right after the commit (and
/// never on a rollback), so the grain starts at once instead of a poller finding the rows later. A wake lost with a killed process
/// costs only time: every silo's recovery scan finds work left overdue in the rows.
/// </summary>
public sealed class GrainWakes
{
    private readonly HashSet<Guid> _notifications = [];
    private readonly List<NotificationWork> _work = [];
    private readonly Dictionary<Guid, DateTimeOffset> _deadlines = [];
    private readonly HashSet<Guid> _connections = [];
    private readonly HashSet<Guid> _changed = [];
    private readonly HashSet<Guid> _inbox = [];
    private readonly Dictionary<Guid, IncidentRaise> _raises = [];
    private readonly Dictionary<Guid, List<DeliveryChange>> _deliveriesChanged = [];

    public void Notification(Guid notificationId) => _notifications.Add(notificationId);

    public void Deadline(Guid incidentId, DateTimeOffset dueAt) =>
        _deadlines[incidentId] = _deadlines.TryGetValue(incidentId, out var known) && known < dueAt ? known : dueAt;

    public void CommandConnection(Guid connectionId) => _connections.Add(connectionId);

    /// <summary>
    /// The transaction wrote part of an incident its grain holds in memory (a PSAP alert, a CAD update, an escalation step): the
    /// grain drops its copy and reads the incident again when next asked.
    /// </summary>
    public void IncidentChanged(Guid incidentId) => _changed.Add(incidentId);

    /// <summary>The transaction left work in the incident's inbox (a call to raise, a call's update): its grain applies it.</summary>
    public void Inbox(Guid incidentId) => _inbox.Add(incidentId);

    /// <summary>The transaction left a call to raise in a new incident's inbox: its grain is handed the raise as it is.</summary>
    public void Raise(Guid incidentId, IncidentRaise raise) => _raises[incidentId] = raise;

    /// <summary>The transaction recorded a send's outcome on the incident: its grain is told what the delivery is now.</summary>
    public void DeliveryChanged(Guid incidentId, Guid notificationId, DeliveryView delivery)
    {
        if (!_deliveriesChanged.TryGetValue(incidentId, out var changes)) _deliveriesChanged[incidentId] = changes = [];
        changes.Add(new DeliveryChange(notificationId, delivery));
    }

    /// <summary>Whether this transaction wrote part of <paramref name="incidentId"/> that its grain does not apply itself.</summary>
    public bool Changed(Guid incidentId) => _changed.Contains(incidentId);

    /// <summary>The earliest deadline this transaction set on <paramref name="incidentId"/>, if any.</summary>
    public DateTimeOffset? DeadlineOf(Guid incidentId) => _deadlines.TryGetValue(incidentId, out var due) ? due : null;

    /// <summary>Deliveries the transaction wrote already claimed for this silo, with what sending them takes: handed over as they are.</summary>
    internal void Handed(NotificationWork work)
    {
        _notifications.Add(work.NotificationId);
        _work.Add(work);
    }

    /// <summary>Notifications with deliveries queued that no work was handed for (not claimed yet, or not claimable by this transaction).</summary>
    private IEnumerable<Guid> NotHanded => _notifications.Where(id => _work.All(w => w.NotificationId != id));

    /// <summary>Before the commit, in the transaction: claims the deliveries it queued (and did not claim as it wrote them) for <paramref name="claimant"/>'s silo.</summary>
    internal async Task ClaimAsync(StoreScope scope, IDeliveryClaimant claimant)
    {
        var queued = NotHanded.ToList();
        if (queued.Count > 0)
            _work.AddRange(await DeliveryQueue.ClaimQueuedAsync(scope, queued, claimant.Time.GetUtcNow(), claimant.Options, claimant.Identity));
    }

    /// <summary>
    /// One-way calls to every grain that has work or whose incident changed, but the incident grain that committed (it schedules
    /// itself and reads <see cref="Changed"/>). A notification whose deliveries were claimed in the transaction is handed them; one
    /// whose deliveries were not is told to look.
    /// </summary>
    public Task SendAsync(IGrainFactory grains, Guid? committingIncident = null) => Task.WhenAll(
        _work.Select(w => grains.GetGrain<INotificationGrain>(w.NotificationId).DeliverAsync(w))
            .Concat(NotHanded.Select(id => grains.GetGrain<INotificationGrain>(id).DeliverDueAsync()))
            .Concat(_deadlines.Keys.Where(id => id != committingIncident).Select(id => grains.GetGrain<IIncidentGrain>(id).EscalateWhenDueAsync()))
            .Concat(_connections.Select(id => grains.GetGrain<ICommandConnectionGrain>(id).DeliverDueAsync()))
            .Concat(_changed.Where(id => id != committingIncident).Select(id => grains.GetGrain<IIncidentGrain>(id).ChangedAsync()))
            .Concat(_inbox.Select(id => grains.GetGrain<IIncidentGrain>(id).InboxAsync()))
            .Concat(_raises.Select(r => grains.GetGrain<IIncidentGrain>(r.Key).RaiseAsync(r.Value)))
            .Concat(_deliveriesChanged.Where(c => !_changed.Contains(c.Key) && c.Key != committingIncident)
                .Select(c => grains.GetGrain<IIncidentGrain>(c.Key).DeliveriesChangedAsync(c.Value))));
}
