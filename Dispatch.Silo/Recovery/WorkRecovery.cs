using System.Diagnostics.Metrics;
using Dispatch.Grains.Cfs;
using Dispatch.Grains.Commands;
using Dispatch.Grains.Eido;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Notifications;
using Dispatch.Grains.Storage;
using Microsoft.Extensions.Options;

namespace Dispatch.Silo.Recovery;

public sealed class RecoveryOptions
{
    public const string Section = "Dispatch:Recovery";

    /// <summary>How often the safety sweep looks for work overdue in the rows (a wake lost with a killed process, a timer lost with its activation).</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How overdue work must be before the sweep takes it: a live grain's timer has it on time.</summary>
    public TimeSpan Grace { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// After a death, the deadlines falling due within this are armed on live silos at once; later ones come back through their
    /// reminders (whose ticks skip while the reminder's owner is being replaced).
    /// </summary>
    public TimeSpan DeadlineHorizon { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// The one recovery path. Work reaches its grain from whoever committed it, and a grain holds its own timers; work is orphaned
/// only when a silo dies (or hangs and is voted out), so this recovers it when the cluster's membership declares a death — the
/// dead silos' sends in flight are released and claimed again at once, the grains with pending sends and the incidents with a
/// deadline about to fall due are woken on live silos — and once when this silo starts (a whole cluster restarted). A slow safety
/// sweep takes whatever is overdue in the rows. Waking a grain that already has the work is a no-op, and every silo recovers
/// the same way: the rows, not the waker, make each step happen once.
/// </summary>
public sealed class WorkRecovery(DispatchStore store, IGrainFactory grains, IClusterMembershipService membership, IOptions<RecoveryOptions> options,
    IOptions<HeartbeatOptions> heartbeats, TimeProvider time, ILogger<WorkRecovery> logger) : BackgroundService
{
    private static readonly Meter Meter = new("Dispatch.Deliveries.Queue");
    private static long _queueDepth;
    private static readonly ObservableGauge<long> QueueDepth = Meter.CreateObservableGauge("dispatch.delivery.queue_depth",
        () => Volatile.Read(ref _queueDepth), "{delivery}", "Deliveries queued or in flight, as of the last sweep.");

    private readonly SemaphoreSlim _deathDeclared = new(0);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var watching = WatchMembershipAsync(stoppingToken);
        var afterDeath = true; // at start: whatever silos that are no more left behind
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (afterDeath) await RecoverAfterDeathAsync(stoppingToken);
                else await SweepAsync(stoppingToken);
                afterDeath = false;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // A recovery owed after a death is retried until it is done; a failed sweep waits for the next.
                logger.LogWarning("Could not recover orphaned work ({Error}); trying again", ex.Message);
                if (afterDeath)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    continue;
                }
            }
            try
            {
                afterDeath = await _deathDeclared.WaitAsync(options.Value.SweepInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        await watching.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task WatchMembershipAsync(CancellationToken stoppingToken)
    {
        var dead = DeadSilos(membership.CurrentSnapshot);
        await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(stoppingToken))
        {
            var now = DeadSilos(snapshot);
            var newlyDead = now.Except(dead).ToList();
            if (newlyDead.Count > 0)
            {
                logger.LogInformation("Silo(s) {Silos} declared dead: recovering their work", string.Join(", ", newlyDead));
                _deathDeclared.Release();
            }
            dead = now;
        }
    }

    private static HashSet<string> DeadSilos(ClusterMembershipSnapshot snapshot) =>
        snapshot.Members.Values.Where(m => m.Status == SiloStatus.Dead).Select(m => SiloIdentity.Of(m.SiloAddress)).ToHashSet();

    private async Task RecoverAfterDeathAsync(CancellationToken cancellationToken)
    {
        Orphans orphans;
        await using (var scope = await store.BeginEngineAsync(cancellationToken))
        {
            orphans = await OrphanedWork.AfterDeathAsync(scope, DeadSilos(membership.CurrentSnapshot), time.GetUtcNow(), options.Value.DeadlineHorizon);
            await scope.CommitAsync(cancellationToken);
        }
        if (orphans.Count > 0 || orphans.Released > 0)
            logger.LogInformation(
                "Recovered work no live silo held: {Released} send(s) in flight released; woke {Notifications} notification(s), {Incidents} incident(s), {Connections} command connection(s), {Inboxes} CAD inbox(es), {Heartbeats} heartbeat watch(es), {Subscribers} EIDO subscriber(s), {IncidentInboxes} incident inbox(es)",
                orphans.Released, orphans.Notifications.Count, orphans.Incidents.Count, orphans.CommandConnections.Count, orphans.Inboxes.Count,
                orphans.Heartbeats.Count, orphans.EidoSubscribers.Count, orphans.IncidentInboxes.Count);
        await WakeAsync(orphans);
    }

    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        Orphans orphans;
        await using (var scope = await store.BeginEngineAsync(cancellationToken))
        {
            orphans = await OrphanedWork.OverdueAsync(scope, time.GetUtcNow(), options.Value.Grace, heartbeats.Value.Grace);
            Volatile.Write(ref _queueDepth, await DeliveryQueue.QueueDepthAsync(scope));
            await scope.CommitAsync(cancellationToken);
        }
        var overdue = orphans.Notifications.Count + orphans.Incidents.Count + orphans.CommandConnections.Count + orphans.Heartbeats.Count
            + orphans.IncidentInboxes.Count;
        if (overdue > 0)
            logger.LogWarning("The sweep found work overdue: woke {Notifications} notification(s), {Incidents} incident(s), {Connections} command connection(s), {Heartbeats} heartbeat watch(es), {IncidentInboxes} incident inbox(es)",
                orphans.Notifications.Count, orphans.Incidents.Count, orphans.CommandConnections.Count, orphans.Heartbeats.Count, orphans.IncidentInboxes.Count);
        await WakeAsync(orphans);
    }

    private Task WakeAsync(Orphans orphans) => Task.WhenAll(
        orphans.Notifications.Select(id => TryWakeAsync(id, () => grains.GetGrain<INotificationGrain>(id).DeliverDueAsync()))
            .Concat(orphans.Incidents.Select(id => TryWakeAsync(id, () => grains.GetGrain<IIncidentGrain>(id).EscalateWhenDueAsync())))
            .Concat(orphans.CommandConnections.Select(id => TryWakeAsync(id, () => grains.GetGrain<ICommandConnectionGrain>(id).DeliverDueAsync())))
            .Concat(orphans.Inboxes.Select(id => TryWakeAsync(id, () => grains.GetGrain<ICfsInboxGrain>(id).EnsureScanningAsync())))
            .Concat(orphans.Heartbeats.Select(id => TryWakeAsync(id, () => grains.GetGrain<ICommandConnectionGrain>(id).WatchAsync())))
            .Concat(orphans.EidoSubscribers.Select(id => TryWakeAsync(id, () => grains.GetGrain<IEidoSubscriptionGrain>(id).EnsureSubscribedAsync())))
            .Concat(orphans.IncidentInboxes.Select(id => TryWakeAsync(id, () => grains.GetGrain<IIncidentGrain>(id).InboxAsync()))));

    private async Task TryWakeAsync(Guid key, Func<Task> wake)
    {
        try
        {
            await wake();
        }
        catch (Exception ex) when (ex is SiloUnavailableException or TimeoutException or OrleansException)
        {
            // Its silo is dead but not yet declared so: the recovery after the declaration reaches it on a live one.
            logger.LogDebug("Grain {GrainKey} not reachable yet ({Error})", key, ex.Message);
        }
    }
}
