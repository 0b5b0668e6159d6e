using System.Diagnostics;
using System.Diagnostics.Metrics;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Transports;
using Dispatch.Grains.Transports.Webhook;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Microsoft.Extensions.Options;

namespace Dispatch.Grains.Commands;

/// <summary>One command system: its acknowledgement events, sent in order, signed, retried; and the watch on its heartbeat.</summary>
public interface ICommandConnectionGrain : IGrainWithGuidKey
{
    /// <summary>Sends every due callback of this connection, oldest event first, and schedules the next retry. One-way: the caller never waits on a receiver.</summary>
    [OneWay]
    Task DeliverDueAsync();

    /// <summary>An explicit heartbeat at <paramref name="at"/>: stamped, an outage ended; answers the watch as it stands.</summary>
    Task<HeartbeatStatus> HeartbeatAsync(DateTimeOffset at);

    /// <summary>The connection was heard from (any authenticated call) at <paramref name="at"/>, already stamped by the caller.</summary>
    [OneWay]
    Task SeenAsync(DateTimeOffset at);

    /// <summary>The connection's heartbeat settings changed (or its watch may have been lost): read them again and keep time.</summary>
    [OneWay]
    Task WatchAsync();
}

/// <summary>
/// POSTs acknowledgement events to a command system: the event JSON to the connection's public URL with
/// <c>X-Dispatch-Event-Id</c>, <c>X-Dispatch-Timestamp</c> and <c>X-Dispatch-Signature: v1=hex(HMAC-SHA256(secret, timestamp + "." +
/// body))</c>. Any 2xx is delivered; anything else, a timeout or a network error is retried with backoff until the last attempt,
/// then dead-lettered. One grain per connection: a slow or dead command system delays only its own callbacks. The outbox rows
/// are the truth; a grain timer wakes it for the next retry, and after a crash the silos' recovery scan finds the rows left due.
/// </summary>
/// <remarks>
/// The heartbeat watch: the grain holds the connection's promise and last contact in memory and a one-shot timer at the moment
/// silence becomes an outage; a reminder (one-minute period, kept while watching) brings the watch back after a deactivation or
/// a silo's death, and the silos' recovery wakes watched connections when a silo dies. At the moment, the row decides: an outage is
/// declared once (the PSAP users the connection names are alerted on their channels), and ended once when it is heard from again.
/// </remarks>
internal sealed class CommandConnectionGrain(DispatchStore store, IHttpClientFactory httpClients, IOptions<CallbackOptions> options,
    IOptions<HeartbeatOptions> heartbeatOptions, ILocalSiloDetails silo, TimeProvider time, ILogger<CommandConnectionGrain> logger)
    : Grain, ICommandConnectionGrain, IRemindable
{
    public const string HttpClientName = "command-callbacks";
    private const string RetryName = "retry";
    public static readonly ActivitySource Source = new("Dispatch.Commands");
    private static readonly Meter Meter = new("Dispatch.Commands");
    private static readonly Counter<long> Results = Meter.CreateCounter<long>("dispatch.command.callbacks", "{callback}",
        "Command-system callback attempts by result (delivered, queued for retry, dead_lettered).");
    private static readonly Histogram<double> AckToCallback = Meter.CreateHistogram<double>("dispatch.command.callback.latency", "s",
        "From the acknowledgement to its callback being delivered.");

    private const string HeartbeatName = "heartbeat";
    private static readonly Counter<long> HeartbeatAlerts = Meter.CreateCounter<long>("dispatch.command.heartbeat.alerts", "{alert}",
        "Heartbeat outages declared (lost) and ended (recovered).");
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, HeartbeatWatch> Watched = new();
    private static readonly ObservableGauge<int> Silent = Meter.CreateObservableGauge("dispatch.command.heartbeat.silent",
        () => Watched.Values.Count(w => w is { Watching: true, OutageAt: not null }), "{connection}",
        "Command connections in a declared heartbeat outage, watched on this silo.");
    private static readonly ObservableGauge<double> Quiet = Meter.CreateObservableGauge("dispatch.command.heartbeat.age",
        () => Watched.Values.Where(w => w.Watching).Select(w => new Measurement<double>(
            Math.Max(0, (TimeProvider.System.GetUtcNow() - w.QuietSince!.Value).TotalSeconds),
            new KeyValuePair<string, object?>("dispatch.command_connection.id", w.ConnectionId))), "s",
        "Seconds since each watched command connection was last heard from.");

    private GrainWakeUp? _retry;
    private GrainWakeUp Retry => _retry ??= new GrainWakeUp(this, RetryName, DeliverDueAsync, time, durable: false);
    private Guid Id => this.GetPrimaryKey();
    private HeartbeatWatch? _watch;
    private GrainWakeUp? _silence;
    // The moment silence becomes an outage; its reminder is the fixed one below, not one per moment (a heartbeat moves the moment).
    private GrainWakeUp Silence => _silence ??= new GrainWakeUp(this, HeartbeatName, CheckDueAsync, time, durable: false);
    private bool? _hasReminder;
    private TimeSpan Grace => heartbeatOptions.Value.Grace;

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        Watched.TryRemove(Id, out _);
        return Task.CompletedTask;
    }

    public async Task<HeartbeatStatus> HeartbeatAsync(DateTimeOffset at)
    {
        await using (var scope = await store.BeginEngineAsync())
        {
            await Heartbeats.SeenAsync(scope, Id, at); // the durable stamp first: a watch brought back elsewhere reads it
            await scope.CommitAsync();
        }
        await SeenAsync(at);
        return _watch!.Status(Grace);
    }

    public async Task SeenAsync(DateTimeOffset at)
    {
        var watch = (await WatchedAsync()).Seen(at);
        if (watch.Recovered)
        {
            GrainWakes wakes;
            await using (var scope = await store.BeginEngineAsync())
            {
                watch = await Heartbeats.EndOutageAsync(scope, Id, at, time.GetUtcNow()) ?? (await Heartbeats.LoadAsync(scope, Id))!;
                await scope.CommitAsync();
                wakes = scope.Wakes;
            }
            await wakes.SendAsync(GrainFactory);
            HeartbeatAlerts.Add(1, new KeyValuePair<string, object?>("dispatch.result", "recovered"));
            logger.LogInformation("Command connection {ConnectionId} is heard from again", Id);
        }
        await KeepTimeAsync(watch);
    }

    public async Task WatchAsync()
    {
        _watch = null;
        await CheckSilenceAsync();
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) =>
        reminderName == HeartbeatName ? CheckSilenceAsync() : Task.CompletedTask;

    private async Task<HeartbeatWatch> WatchedAsync()
    {
        if (_watch is not null) return _watch;
        await using var scope = await store.BeginEngineAsync();
        return _watch = await Heartbeats.LoadAsync(scope, Id) ?? new HeartbeatWatch(Id, Guid.Empty, false, null, null, null, null, []);
    }

    // The database unreachable at the moment: tried again in a second rather than left to the reminder's next minute.
    private Task CheckDueAsync() => Silence.RunOrRetryAsync(CheckSilenceAsync, logger, $"Heartbeat watch of command connection {Id}");

    /// <summary>At (or after) the moment: the row decides whether the connection is still silent; if so the outage is declared, once.</summary>
    private async Task CheckSilenceAsync()
    {
        var watch = await WatchedAsync();
        if (watch.DueAt(Grace) is { } due && due <= time.GetUtcNow())
        {
            GrainWakes wakes;
            await using (var scope = await store.BeginEngineAsync())
            {
                var declared = await Heartbeats.DeclareOutageAsync(scope, watch, Grace, time.GetUtcNow());
                watch = declared ?? (await Heartbeats.LoadAsync(scope, Id))!; // heard from meanwhile (another Api's stamp), or declared before
                await scope.CommitAsync();
                wakes = scope.Wakes;
                if (declared is not null)
                {
                    HeartbeatAlerts.Add(1, new KeyValuePair<string, object?>("dispatch.result", "lost"));
                    logger.LogWarning("Command connection {ConnectionId} silent since {Since:o}: heartbeat outage declared", Id, declared.QuietSince);
                }
            }
            await wakes.SendAsync(GrainFactory);
        }
        await KeepTimeAsync(watch);
    }

    /// <summary>Holds <paramref name="watch"/>: a timer at its moment, and the reminder that outlives this activation while it watches.</summary>
    private async Task KeepTimeAsync(HeartbeatWatch watch)
    {
        _watch = watch;
        if (watch.Watching) Watched[Id] = watch;
        else Watched.TryRemove(Id, out _);
        await Silence.SetAsync(watch.DueAt(Grace));
        // The reminder is the watch's durable record: registered once while watching (an outage included: its end is news too),
        // removed when the watch ends; its ticks find the timer holding the moment and change nothing.
        if (watch.Watching && _hasReminder != true)
        {
            await this.RegisterOrUpdateReminder(HeartbeatName, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
            _hasReminder = true;
        }
        else if (!watch.Watching && _hasReminder != false)
        {
            if (await this.GetReminder(HeartbeatName) is { } reminder) await this.UnregisterReminder(reminder);
            _hasReminder = false;
        }
    }

    public Task DeliverDueAsync() => Retry.RunOrRetryAsync(DeliverAsync, logger, $"Callbacks of command connection {Id}");

    private async Task DeliverAsync()
    {
        IReadOnlyList<ClaimedCallback> claimed;
        DateTimeOffset? next;
        do
        {
            await using (var scope = await store.BeginEngineAsync())
            {
                claimed = await CommandCallbacks.ClaimAsync(scope, Id, time.GetUtcNow(), options.Value, SiloIdentity.Of(silo.SiloAddress));
                next = claimed.Count == 0 ? Time.Utc(await CommandCallbacks.NextDueAsync(scope, Id)) : null;
                await scope.CommitAsync();
            }
            // In order, one at a time; the batch's outcomes are then recorded together, in one round trip, and that transaction
            // also says when the next callback falls due. Callbacks queued meanwhile come with their own wake-up, queued behind this call.
            if (claimed.Count > 0) next = await SendAsync(claimed);
        }
        while (claimed.Count == options.Value.BatchSize);
        await Retry.SetAsync(next); // stays active while idle: one grain per command system, woken at every acknowledgement
    }

    private async Task<DateTimeOffset?> SendAsync(IReadOnlyList<ClaimedCallback> claimed)
    {
        var outcomes = new List<(ClaimedCallback Callback, CallbackResult Result)>(claimed.Count);
        foreach (var callback in claimed)
        {
            using var activity = Source.StartActivity("callback", ActivityKind.Client);
            activity?.SetTag("dispatch.event.id", callback.EventId);
            activity?.SetTag("dispatch.callback.attempt", callback.Attempt);
            var result = await PostAsync(callback);
            if (!result.Delivered) activity?.SetStatus(ActivityStatusCode.Error, result.Error);
            outcomes.Add((callback, result));
        }

        var now = time.GetUtcNow();
        IReadOnlyList<string> statuses;
        DateTimeOffset? next;
        await using (var scope = await store.BeginEngineAsync())
        {
            DateTime? due;
            (statuses, due) = await CommandCallbacks.CompleteAsync(scope, Id, outcomes, now, options.Value, Random.Shared.NextDouble());
            next = Time.Utc(due);
            await scope.CommitAsync();
        }

        for (var i = 0; i < outcomes.Count; i++)
        {
            var (callback, result) = outcomes[i];
            Results.Add(1, new KeyValuePair<string, object?>("dispatch.result", statuses[i]));
            if (statuses[i] == "delivered")
                AckToCallback.Record(Math.Max(0, (now - CommandAcks.Parse(callback.Body).AcknowledgedAt).TotalSeconds));
            else
                logger.LogWarning("Callback {CallbackId} of event {EventId} attempt {Attempt}: {Status} ({Error})",
                    callback.Id, callback.EventId, callback.Attempt, statuses[i], result.Error);
        }
        return next;
    }

    private async Task<CallbackResult> PostAsync(ClaimedCallback callback)
    {
        if (!callback.ConnectionActive) return new CallbackResult(false, null, "The command connection was deactivated.", Final: true);
        if (!Uri.TryCreate(callback.Url, UriKind.Absolute, out var url)) return new CallbackResult(false, null, "The connection has no valid public URL.", Final: true);
        using var request = WebhookTransport.SignedPost(url, callback.Secret, callback.Body, time.GetUtcNow());
        request.Headers.Add("X-Dispatch-Event-Id", callback.EventId.ToString());
        using var timeout = new CancellationTokenSource(options.Value.Timeout);
        try
        {
            using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, timeout.Token);
            var code = (int)response.StatusCode;
            return response.IsSuccessStatusCode
                ? new CallbackResult(true, code, null)
                : new CallbackResult(false, code, $"HTTP {code} from the receiver at {url.IdnHost}");
        }
        catch (OperationCanceledException)
        {
            return new CallbackResult(false, null, $"No answer within {options.Value.Timeout.TotalSeconds:0} s");
        }
        catch (HttpRequestException e) when ((e as OutboundRefusedException ?? e.InnerException as OutboundRefusedException) is { } refused)
        {
            return new CallbackResult(false, null, $"Destination refused: {refused.Message}", Final: true);
        }
        catch (HttpRequestException e)
        {
            return new CallbackResult(false, null, $"Receiver at {url.IdnHost} unreachable ({e.HttpRequestError})");
        }
    }
}
