using System.Diagnostics;
using System.Diagnostics.Metrics;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;
using Dispatch.Grains.Transports;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Placement;

namespace Dispatch.Grains.Notifications;

/// <summary>One recipient's notification: its deliveries in the recipient's channel order, retries and failover.</summary>
public interface INotificationGrain : IGrainWithGuidKey
{
    /// <summary>Sends the notification's due deliveries and schedules the next retry. One-way: the caller never waits on a receiver.</summary>
    [OneWay]
    Task DeliverDueAsync();

    /// <summary>Sends deliveries the caller's transaction claimed and committed for this grain, then carries on as <see cref="DeliverDueAsync"/>.</summary>
    [OneWay]
    Task DeliverAsync(NotificationWork work);
}

/// <summary>
/// Sends a notification's deliveries through their transports, with the timeouts each transport sets. One grain per notification,
/// so a receiver that answers in ten seconds (or never) delays only its own deliveries. The rows are the truth: a delivery is
/// claimed for a silo with a lease — by the transaction that queued it, which hands it to this grain in the call after its commit
/// (this grain is placed beside it), or by this grain for a retry — sent outside any transaction and its outcome recorded after (a transient failure backs off, a permanent
/// one or the last attempt hands over to the next channel of a failover chain); a grain timer wakes the grain for the next retry,
/// and after a crash the silos' recovery scan finds the rows left due. At least once: a silo killed between send and record
/// sends again after the lease.
/// </summary>
[PreferLocalPlacement] // beside the grain that committed its work, which claimed it for this silo
internal sealed class NotificationGrain(DispatchStore store, IEnumerable<ITransport> transports, AckLinkFactory ackLinks, IOptions<DeliveryOptions> options,
    ILocalSiloDetails silo, FieldCipher cipher, TimeProvider time, ILogger<NotificationGrain> logger) : Grain, INotificationGrain
{
    private const string RetryName = "retry";
    public static readonly ActivitySource Source = new("Dispatch.Deliveries");
    private static readonly Meter Meter = new("Dispatch.Deliveries");
    private static readonly Counter<long> Outcomes = Meter.CreateCounter<long>("dispatch.deliveries", "{delivery}", "Delivery attempts by transport and result.");
    private static readonly Histogram<int> Attempts = Meter.CreateHistogram<int>("dispatch.delivery.attempt", "{attempt}", "Attempt number of each send.");

    private readonly Dictionary<string, ITransport> _transports = transports.ToDictionary(t => t.Slug);
    private GrainWakeUp? _retry;
    private GrainWakeUp Retry => _retry ??= new GrainWakeUp(this, RetryName, DeliverDueAsync, time, durable: false);
    private Guid Id => this.GetPrimaryKey();

    // The work came to this grain; while the database is unreachable it keeps it and tries again in a second.
    public Task DeliverDueAsync() => Retry.RunOrRetryAsync(() => SendDueAsync(null), logger, $"Notification {Id}");

    public Task DeliverAsync(NotificationWork work) =>
        Retry.RunOrRetryAsync(async () => await SendDueAsync(await HeldAsync(work)), logger, $"Notification {Id}");

    private string Me => SiloIdentity.Of(silo.SiloAddress);

    /// <summary>The signed acknowledgement link of a recipient's notification, valid from <paramref name="now"/>.</summary>
    private Func<Guid, Guid, Guid, Uri?> AckUrls(DateTimeOffset now) =>
        (notification, agency, user) => ackLinks.Links?.Create(new AckLink(notification, agency, user, now + AckLinks.Lifetime));

    /// <summary>The handed work's deliveries this silo holds: claimed here, or taken over when this grain lives on another silo.</summary>
    private async Task<IReadOnlyList<ClaimedDelivery>> HeldAsync(NotificationWork work)
    {
        if (work.ClaimedBy != Me)
        {
            await using var scope = await store.BeginEngineAsync();
            var held = await DeliveryQueue.TakeOverAsync(scope, work, Me, time.GetUtcNow());
            await scope.CommitAsync();
            work = work with { ClaimedBy = Me, Rows = work.Rows.Where(r => held.Contains(r.Id)).ToList() };
        }
        return DeliveryQueue.Materialize(work, cipher, AckUrls(time.GetUtcNow()));
    }

    /// <param name="handed">Deliveries already claimed for this silo, sent first.</param>
    private async Task SendDueAsync(IReadOnlyList<ClaimedDelivery>? handed)
    {
        DateTimeOffset? next = null;
        do
        {
            IReadOnlyList<ClaimedDelivery> claimed;
            if (handed is { Count: > 0 })
            {
                claimed = handed;
                handed = null;
            }
            else
            {
                await using var scope = await store.BeginEngineAsync();
                var now = time.GetUtcNow();
                claimed = await DeliveryQueue.ClaimAsync(scope, Id, now, options.Value, Me, AckUrls(now));
                next = claimed.Count == 0 ? Time.Utc(await DeliveryQueue.NextDueAsync(scope, Id, [])) : null;
                await scope.CommitAsync();
            }
            if (claimed.Count > 0)
            {
                // A notification's channels at once (delivery mode "all"); each transport bounds its own wait. Each outcome's
                // transaction also says when this notification next has something due (a retry, or a failover link queued now).
                var batch = claimed.Select(c => c.Message.DeliveryId).ToArray();
                next = (await Task.WhenAll(claimed.Select(c => SendAsync(c, batch)))).Min();
            }
        }
        while (next is { } due && due <= time.GetUtcNow());
        await Retry.SetAsync(next);
        if (next is null) DeactivateOnIdle();
    }

    private async Task<DateTimeOffset?> SendAsync(ClaimedDelivery claimed, Guid[] batch)
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

        // The outcome is recorded, whatever the database is doing: an outage shorter than half the claim's lease delays the record,
        // never turns a sent message into a second send.
        var giveUpAt = time.GetUtcNow() + options.Value.ClaimLease / 2;
        string status;
        DateTimeOffset? next;
        GrainWakes wakes;
        while (true)
        {
            try
            {
                await using var scope = await store.BeginEngineAsync();
                DateTime? due;
                (status, due) = await DeliveryQueue.CompleteAsync(scope, claimed, result, time.GetUtcNow(), options.Value, Random.Shared.NextDouble(),
                    batch.Where(id => id != claimed.Message.DeliveryId).ToArray());
                next = Time.Utc(due);
                await scope.CommitAsync();
                wakes = scope.Wakes;
                break;
            }
            catch (Exception e) when (DatabaseUnavailableException.IsUnreachable(e) && time.GetUtcNow() < giveUpAt)
            {
                await Task.Delay(GrainWakeUp.DatabaseRetry, time);
            }
        }
        await wakes.SendAsync(GrainFactory); // alerts to PSAP users when the recipient is unreachable

        activity?.SetTag("dispatch.delivery.result", status);
        if (result.Outcome != SendOutcome.Sent) activity?.SetStatus(ActivityStatusCode.Error, result.Error);
        Outcomes.Add(1, new("dispatch.transport", claimed.TransportSlug), new("dispatch.result", status));
        Attempts.Record(claimed.Message.Attempt, new KeyValuePair<string, object?>("dispatch.transport", claimed.TransportSlug));
        if (status != "sent")
            logger.LogWarning("Delivery {DeliveryId} attempt {Attempt} over {Transport}: {Status} ({Error})",
                claimed.Message.DeliveryId, claimed.Message.Attempt, claimed.TransportSlug, status, result.Error);
        return next;
    }
}
