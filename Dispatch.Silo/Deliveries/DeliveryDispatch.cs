using System.Diagnostics.Metrics;
using Dispatch.Grains.Notifications;
using Dispatch.Grains.Storage;
using Microsoft.Extensions.Options;

namespace Dispatch.Silo.Deliveries;

public sealed class DeliveryDispatchOptions
{
    /// <summary>How often each silo looks for deliveries left overdue (a dead silo's work, a wake lost with a killed process).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How overdue a delivery must be before the scan wakes its grain: the writer or the grain's own timer normally has it.</summary>
    public TimeSpan Grace { get; set; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// Recovery scan for deliveries: wakes the grain of every notification with a delivery overdue by more than the grace, or a send
/// whose lease ran out. The wake-up is one-way, so no receiver, however slow, holds up this round or anyone else's delivery.
/// </summary>
public sealed class DeliveryDispatch(DispatchStore store, IGrainFactory grains, IOptions<DeliveryDispatchOptions> options,
    TimeProvider time, ILogger<DeliveryDispatch> logger) : GrainWaker(store, time, logger)
{
    private static readonly Meter Meter = new("Dispatch.Deliveries.Queue");
    private static long _queueDepth;
    private static readonly ObservableGauge<long> QueueDepth =
        Meter.CreateObservableGauge("dispatch.delivery.queue_depth", () => Volatile.Read(ref _queueDepth), "{delivery}", "Deliveries queued or in flight.");

    protected override TimeSpan Period => options.Value.PollInterval;
    protected override TimeSpan Rewake => TimeSpan.FromSeconds(5);

    protected override async Task<IEnumerable<Guid>> DueAsync(EngineScope scope, DateTimeOffset now)
    {
        Volatile.Write(ref _queueDepth, await DeliveryQueue.QueueDepthAsync(scope));
        return await DeliveryQueue.NotificationsDueAsync(scope, now - options.Value.Grace);
    }

    protected override Task WakeAsync(Guid key) => grains.GetGrain<INotificationGrain>(key).DeliverDueAsync();
}
