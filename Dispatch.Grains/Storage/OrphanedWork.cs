using Dispatch.Grains.Cfs;
using Dispatch.Grains.Escalation;

namespace Dispatch.Grains.Storage;

/// <summary>The grains that have work nobody holds: whose keys a recovery hands to live grains.</summary>
/// <param name="Released">Sends in flight on a dead silo, released to be claimed again now.</param>
/// <param name="Heartbeats">Command connections whose heartbeat watch (its timer) may be lost.</param>
/// <param name="EidoSubscribers">EIDO subscriptions that should be connected to their notifier (their connection may have died with a silo).</param>
/// <param name="IncidentInboxes">Incidents with work left in their inbox (a call to raise, a call's update) that their grain has not applied.</param>
public sealed record Orphans(IReadOnlyList<Guid> Notifications, IReadOnlyList<Guid> Incidents, IReadOnlyList<Guid> CommandConnections,
    IReadOnlyList<Guid> Inboxes, IReadOnlyList<Guid> Heartbeats, IReadOnlyList<Guid> EidoSubscribers, IReadOnlyList<Guid> IncidentInboxes, int Released = 0)
{
    public int Count => Notifications.Count + Incidents.Count + CommandConnections.Count + Inboxes.Count + Heartbeats.Count + EidoSubscribers.Count
        + IncidentInboxes.Count;
}

/// <summary>
/// Work that can be orphaned, found in the rows. Every piece of work reaches its grain from whoever committed it; it is orphaned
/// only when the silo holding that grain dies (its sends in flight, its retry timers, its deadlines' timers), when a process is
/// killed between a commit and the wake-up it owed, or when a grain's timer is lost with its activation. Two questions find it:
/// <see cref="AfterDeathAsync"/>, asked when the cluster declares silos dead (and once at a silo's start), and <see cref="OverdueAsync"/>,
/// the slow safety sweep's.
/// </summary>
internal static class OrphanedWork
{
    /// <summary>
    /// After <paramref name="deadSilos"/> died: their sends in flight are released (claimable now, not after the lease), and the
    /// grains to wake are every notification and command connection with a send pending (their retry timers may have died with
    /// them), every incident whose deadline falls due within <paramref name="horizon"/> (later ones are brought back by their
    /// reminders), every active CAD inbox, and every command connection with a heartbeat watch (its timer may have died with them).
    /// </summary>
    public static async Task<Orphans> AfterDeathAsync(EngineScope scope, IReadOnlyCollection<string> deadSilos, DateTimeOffset now, TimeSpan horizon)
    {
        var dead = deadSilos.ToArray();
        var released = await scope.ExecuteAsync("""
            update notification_deliveries set claimed_until = @now, claimed_by = null, updated_at = @now
            where send_status = 'sending' and claimed_by = any(@dead)
            """, new { dead, now });
        released += await scope.ExecuteAsync("""
            update command_callbacks set claimed_until = @now, claimed_by = null, updated_at = @now
            where status = 'sending' and claimed_by = any(@dead)
            """, new { dead, now });
        return new Orphans(
            (await scope.QueryAsync<Guid>("select distinct notification_id from notification_deliveries where send_status in ('queued', 'sending')")).ToList(),
            (await IncidentsDueAsync(scope, now + horizon)).ToList(),
            (await scope.QueryAsync<Guid>("select distinct command_connection_id from command_callbacks where status in ('queued', 'sending')")).ToList(),
            (await CfsImports.ActiveIdsAsync(scope)).ToList(), (await Commands.Heartbeats.WatchedAsync(scope)).ToList(),
            (await Eido.EidoSubscriptions.SubscriberIdsAsync(scope)).ToList(),
            (await Incidents.IncidentInbox.WaitingAsync(scope, DateTimeOffset.MaxValue)).ToList(), released);
    }

    /// <summary>
    /// The safety sweep: work overdue by more than <paramref name="grace"/> (a live grain's timer has it on time, so this is a wake
    /// lost with a killed process or a timer lost with its activation), sends whose lease ran out, every active CAD inbox and EIDO
    /// subscriber, incidents whose inbox holds work older than the grace, and command connections silent past their interval and <paramref name="heartbeatGrace"/> (and this grace) with no outage declared.
    /// </summary>
    public static async Task<Orphans> OverdueAsync(EngineScope scope, DateTimeOffset now, TimeSpan grace, TimeSpan heartbeatGrace)
    {
        var overdue = now - grace;
        return new Orphans(
            (await scope.QueryAsync<Guid>("""
                select distinct notification_id from notification_deliveries
                where (send_status = 'queued' and next_attempt_at <= @overdue) or (send_status = 'sending' and claimed_until <= @now)
                """, new { overdue, now })).ToList(),
            (await IncidentsDueAsync(scope, overdue)).ToList(),
            (await scope.QueryAsync<Guid>("""
                select distinct command_connection_id from command_callbacks
                where (status = 'queued' and next_attempt_at <= @overdue) or (status = 'sending' and claimed_until <= @now)
                """, new { overdue, now })).ToList(),
            (await CfsImports.ActiveIdsAsync(scope)).ToList(),
            (await Commands.Heartbeats.OverdueAsync(scope, now, heartbeatGrace, grace)).ToList(),
            (await Eido.EidoSubscriptions.SubscriberIdsAsync(scope)).ToList(),
            (await Incidents.IncidentInbox.WaitingAsync(scope, overdue)).ToList());
    }

    /// <summary>The incidents with a live deadline due by <paramref name="until"/>: whose grains should be holding a timer for it.</summary>
    internal static Task<IEnumerable<Guid>> IncidentsDueAsync(EngineScope scope, DateTimeOffset until) => scope.QueryAsync<Guid>(
        $"select distinct incident_id from notifications where {Escalation.EscalationEngine.Live} and escalation_due_at <= @until", new { until });
}
