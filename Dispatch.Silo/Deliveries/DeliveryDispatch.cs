using System.Diagnostics.Metrics;
using Dispatch.Grains.Notifications;
using Dispatch.Grains.Routing;
using Dispatch.Grains.Storage;
using Microsoft.Extensions.Options;

namespace Dispatch.Silo.Deliveries;

public sealed class DeliveryDispatchOptions
{
    /// <summary>How often each silo looks for due deliveries without a NOTIFY (a missed one, or a dead silo's work).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// Wakes the grain of every notification with a due delivery: at once on the NOTIFY a committing writer sends, and every poll
/// interval otherwise. The wake-up is one-way, so no receiver, however slow, holds up this round or anyone else's delivery.
/// </summary>
public sealed class DeliveryDispatch(DispatchStore store, DatabaseSignals signals, IGrainFactory grains, IOptions<DeliveryDispatchOptions> options,
    TimeProvider time, ILogger<DeliveryDispatch> logger) : GrainWaker(store, signals, time, logger)
{
    private static readonly Meter Meter = new("Dispatch.Deliveries.Queue");
    private static long _queueDepth;
    private static readonly ObservableGauge<long> QueueDepth =
        Meter.CreateObservableGauge("dispatch.delivery.queue_depth", () => Volatile.Read(ref _queueDepth), "{delivery}", "Deliveries queued or in flight.");

    protected override string? Channel => Assignments.DeliveryChannel;
    protected override TimeSpan Period => options.Value.PollInterval;
    protected override TimeSpan Rewake => TimeSpan.FromSeconds(5);

    protected override async Task<IEnumerable<Guid>> DueAsync(EngineScope scope, DateTimeOffset now)
    {
        Volatile.Write(ref _queueDepth, await DeliveryQueue.QueueDepthAsync(scope));
        return await DeliveryQueue.NotificationsDueAsync(scope, now);
    }

    protected override Task WakeAsync(Guid key) => grains.GetGrain<INotificationGrain>(key).DeliverDueAsync();
}
