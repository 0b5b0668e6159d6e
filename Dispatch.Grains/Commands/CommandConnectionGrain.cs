using System.Diagnostics;
using System.Diagnostics.Metrics;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Transports;
using Dispatch.Grains.Transports.Webhook;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Microsoft.Extensions.Options;

namespace Dispatch.Grains.Commands;

/// <summary>One callback-mode command system: its acknowledgement events, sent in order, signed, retried.</summary>
public interface ICommandConnectionGrain : IGrainWithGuidKey
{
    /// <summary>Sends every due callback of this connection, oldest event first, and schedules the next retry. One-way: the caller never waits on a receiver.</summary>
    [OneWay]
    Task DeliverDueAsync();
}

/// <summary>
/// POSTs acknowledgement events to a command system: the event JSON to the connection's public URL with
/// <c>X-Dispatch-Event-Id</c>, <c>X-Dispatch-Timestamp</c> and <c>X-Dispatch-Signature: v1=hex(HMAC-SHA256(secret, timestamp + "." +
/// body))</c>. Any 2xx is delivered; anything else, a timeout or a network error is retried with backoff until the last attempt,
/// then dead-lettered. One grain per connection: a slow or dead command system delays only its own callbacks. The outbox rows
/// are the truth; a grain timer wakes it for the next retry, and after a crash the silos' recovery scan finds the rows left due.
/// </summary>
internal sealed class CommandConnectionGrain(DispatchStore store, IHttpClientFactory httpClients, IOptions<CallbackOptions> options, ILocalSiloDetails silo, TimeProvider time,
    ILogger<CommandConnectionGrain> logger) : Grain, ICommandConnectionGrain
{
    public const string HttpClientName = "command-callbacks";
    private const string RetryName = "retry";
    public static readonly ActivitySource Source = new("Dispatch.Commands");
    private static readonly Meter Meter = new("Dispatch.Commands");
    private static readonly Counter<long> Results = Meter.CreateCounter<long>("dispatch.command.callbacks", "{callback}",
        "Command-system callback attempts by result (delivered, queued for retry, dead_lettered).");
    private static readonly Histogram<double> AckToCallback = Meter.CreateHistogram<double>("dispatch.command.callback.latency", "s",
        "From the acknowledgement to its callback being delivered.");

    private GrainWakeUp? _retry;
    private GrainWakeUp Retry => _retry ??= new GrainWakeUp(this, RetryName, DeliverDueAsync, time, durable: false);
    private Guid Id => this.GetPrimaryKey();

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
            statuses = await CommandCallbacks.CompleteAsync(scope, outcomes, now, options.Value, Random.Shared.NextDouble());
            next = Time.Utc(await CommandCallbacks.NextDueAsync(scope, Id));
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
