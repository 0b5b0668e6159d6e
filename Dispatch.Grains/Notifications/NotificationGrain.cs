using System.Diagnostics;
using System.Diagnostics.Metrics;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Transports;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace Dispatch.Grains.Notifications;

/// <summary>One recipient's notification: its deliveries in the recipient's channel order, retries and failover.</summary>
public interface INotificationGrain : IGrainWithGuidKey
{
    /// <summary>Sends the notification's due deliveries and schedules the next retry. One-way: the caller never waits on a receiver.</summary>
    [OneWay]
    Task DeliverDueAsync();
}

/// <summary>
/// Sends a notification's deliveries through their transports, with the timeouts each transport sets. One grain per notification,
/// so a receiver that answers in ten seconds (or never) delays only its own deliveries. The rows are the truth: a delivery is
/// claimed with a lease, sent outside any transaction and its outcome recorded after (a transient failure backs off, a permanent
/// one or the last attempt hands over to the next channel of a failover chain); a grain timer wakes the grain for the next retry
/// and a reminder revives it after a crash. At least once: a silo killed between send and record sends again after the lease.
/// </summary>
public sealed class NotificationGrain(DispatchStore store, IEnumerable<ITransport> transports, AckLinkFactory ackLinks, IOptions<DeliveryOptions> options,
    TimeProvider time, ILogger<NotificationGrain> logger) : Grain, INotificationGrain, IRemindable
{
    private const string Retry = "retry";
    public static readonly ActivitySource Source = new("Dispatch.Deliveries");
    private static readonly Meter Meter = new("Dispatch.Deliveries");
    private static readonly Counter<long> Outcomes = Meter.CreateCounter<long>("dispatch.deliveries", "{delivery}", "Delivery attempts by transport and result.");
    private static readonly Histogram<int> Attempts = Meter.CreateHistogram<int>("dispatch.delivery.attempt", "{attempt}", "Attempt number of each send.");

    private readonly Dictionary<string, ITransport> _transports = transports.ToDictionary(t => t.Slug);
    private GrainWakeUp? _retry;

    public async Task DeliverDueAsync()
    {
        IReadOnlyList<ClaimedDelivery> claimed;
        do
        {
            await using (var scope = await store.BeginEngineAsync())
            {
                var now = time.GetUtcNow();
                claimed = await DeliveryQueue.ClaimAsync(scope, this.GetPrimaryKey(), now, options.Value,
                    (notification, agency, user) => ackLinks.Links?.Create(new AckLink(notification, agency, user, now + AckLinks.Lifetime)));
                await scope.CommitAsync();
            }
            // A notification's channels at once (delivery mode "all"); each transport bounds its own wait.
            await Task.WhenAll(claimed.Select(SendAsync));
        }
        while (claimed.Count > 0);
        await ScheduleAsync();
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => DeliverDueAsync();

    private async Task ScheduleAsync()
    {
        DateTime? next;
        await using (var scope = await store.BeginEngineAsync())
            next = await DeliveryQueue.NextDueAsync(scope, this.GetPrimaryKey());
        _retry ??= new GrainWakeUp(this, Retry, DeliverDueAsync, time);
        await _retry.SetAsync(next is null ? null : Time.Utc(next.Value));
        if (next is null) DeactivateOnIdle();
    }

    private async Task SendAsync(ClaimedDelivery claimed)
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
                ? await transport.SendAsync(claimed.Message, CancellationToken.None)
                : SendResult.Permanent($"This build has no sender for '{claimed.TransportSlug}'.");
        }
        catch (Exception ex)
        {
            result = SendResult.Transient($"{ex.GetType().Name}: {ex.Message}");
        }

        await using var scope = await store.BeginEngineAsync();
        var status = await DeliveryQueue.CompleteAsync(scope, claimed, result, time.GetUtcNow(), options.Value, Random.Shared.NextDouble());
        await scope.CommitAsync();

        activity?.SetTag("dispatch.delivery.result", status);
        if (result.Outcome != SendOutcome.Sent) activity?.SetStatus(ActivityStatusCode.Error, result.Error);
        Outcomes.Add(1, new("dispatch.transport", claimed.TransportSlug), new("dispatch.result", status));
        Attempts.Record(claimed.Message.Attempt, new KeyValuePair<string, object?>("dispatch.transport", claimed.TransportSlug));
        if (status != "sent")
            logger.LogWarning("Delivery {DeliveryId} attempt {Attempt} over {Transport}: {Status} ({Error})",
                claimed.Message.DeliveryId, claimed.Message.Attempt, claimed.TransportSlug, status, result.Error);
    }
}
