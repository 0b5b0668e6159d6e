using System.Diagnostics;
using System.Diagnostics.Metrics;
using Dispatch.Grains.Notifications;
using Dispatch.Grains.Routing;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Transports;
using Microsoft.Extensions.Options;

namespace Dispatch.Silo.Deliveries;

public sealed class DeliveryWorkerOptions
{
    /// <summary>The longest the loop sleeps without a NOTIFY, in case one was missed.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    public int Parallelism { get; set; } = 8;
}

/// <summary>
/// The delivery loop: claims due deliveries, sends each through its transport, records the outcome; sleeps until the
/// next due time, a NOTIFY from a committing writer, or the poll interval, whichever comes first.
/// </summary>
public sealed class DeliveryWorker(
    DispatchStore store, DatabaseSignals signals, IEnumerable<ITransport> transports, AckLinkFactory ackLinks, IOptions<DeliveryOptions> delivery,
    IOptions<DeliveryWorkerOptions> options, TimeProvider time, ILogger<DeliveryWorker> logger) : WorkLoop(signals, time, logger)
{
    public static readonly ActivitySource Source = new("Dispatch.Silo.Deliveries");
    private static readonly Meter Meter = new("Dispatch.Silo.Deliveries");
    private static readonly Counter<long> Outcomes = Meter.CreateCounter<long>("dispatch.deliveries", "{delivery}", "Delivery attempts by transport and result.");
    private static readonly Histogram<int> Attempts = Meter.CreateHistogram<int>("dispatch.delivery.attempt", "{attempt}", "Attempt number of each send.");
    private static long _queueDepth;
    private static readonly ObservableGauge<long> QueueDepth =
        Meter.CreateObservableGauge("dispatch.delivery.queue_depth", () => Volatile.Read(ref _queueDepth), "{delivery}", "Deliveries queued or in flight.");

    private readonly Dictionary<string, ITransport> _transports = transports.ToDictionary(t => t.Slug);

    protected override string Module => "deliveries";
    protected override string Channel => Assignments.DeliveryChannel;
    protected override TimeSpan PollInterval => options.Value.PollInterval;

    /// <summary>Claims one batch, sends it, records the outcomes; returns how many were claimed.</summary>
    public override async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<ClaimedDelivery> claimed;
        await using (var scope = await store.BeginEngineAsync(cancellationToken))
        {
            var now = Clock.GetUtcNow();
            claimed = await DeliveryQueue.ClaimAsync(scope, now, delivery.Value,
                (notification, agency, user) => ackLinks.Links?.Create(new AckLink(notification, agency, user, now + AckLinks.Lifetime)));
            await scope.CommitAsync(cancellationToken);
        }
        await Parallel.ForEachAsync(claimed, new ParallelOptions { MaxDegreeOfParallelism = options.Value.Parallelism, CancellationToken = cancellationToken },
            async (d, ct) => await SendAsync(d, ct));
        return claimed.Count;
    }

    private async Task SendAsync(ClaimedDelivery claimed, CancellationToken cancellationToken)
    {
        ActivityContext.TryParse(claimed.TraceParent, null, out var parent);
        using var activity = Source.StartActivity("deliver " + claimed.TransportSlug, ActivityKind.Producer, parent);
        activity?.SetTag("dispatch.delivery.id", claimed.Message.DeliveryId);
        activity?.SetTag("dispatch.incident.id", claimed.Message.IncidentId);
        activity?.SetTag("dispatch.delivery.attempt", claimed.Message.Attempt);

        SendResult result;
        try
        {
            result = _transports.TryGetValue(claimed.TransportSlug, out var transport)
                ? await transport.SendAsync(claimed.Message, cancellationToken)
                : SendResult.Permanent($"This build has no sender for '{claimed.TransportSlug}'.");
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            result = SendResult.Transient($"{ex.GetType().Name}: {ex.Message}");
        }

        await using var scope = await store.BeginEngineAsync(CancellationToken.None);
        var status = await DeliveryQueue.CompleteAsync(scope, claimed, result, Clock.GetUtcNow(), delivery.Value, Random.Shared.NextDouble());
        await scope.CommitAsync(CancellationToken.None);

        activity?.SetTag("dispatch.delivery.result", status);
        if (result.Outcome != SendOutcome.Sent) activity?.SetStatus(ActivityStatusCode.Error, result.Error);
        Outcomes.Add(1, new("dispatch.transport", claimed.TransportSlug), new("dispatch.result", status));
        Attempts.Record(claimed.Message.Attempt, new KeyValuePair<string, object?>("dispatch.transport", claimed.TransportSlug));
        if (status != "sent")
            logger.LogWarning("Delivery {DeliveryId} attempt {Attempt} over {Transport}: {Status} ({Error})",
                claimed.Message.DeliveryId, claimed.Message.Attempt, claimed.TransportSlug, status, result.Error);
    }

    protected override async Task<DateTime?> NextDueAsync()
    {
        await using var scope = await store.BeginEngineAsync();
        Volatile.Write(ref _queueDepth, await DeliveryQueue.QueueDepthAsync(scope));
        return await DeliveryQueue.NextDueAsync(scope);
    }
}
