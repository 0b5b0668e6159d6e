using System.Diagnostics;
using System.Diagnostics.Metrics;
using Dispatch.Grains.Commands;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Transports;
using Dispatch.Grains.Transports.Webhook;
using Microsoft.Extensions.Options;

namespace Dispatch.Silo.Commands;

/// <summary>
/// Sends acknowledgement events to callback-mode command systems: a POST of the event JSON to the connection's public URL with
/// <c>X-Dispatch-Event-Id</c>, <c>X-Dispatch-Timestamp</c> (unix seconds) and
/// <c>X-Dispatch-Signature: v1=hex(HMAC-SHA256(callback secret, timestamp + "." + body))</c>. Any 2xx is delivered; anything
/// else, a timeout or a network error is retried with backoff until the last attempt, then dead-lettered.
/// </summary>
public sealed class CallbackWorker(DispatchStore store, DatabaseSignals signals, HttpClient http, IOptions<CallbackOptions> options, TimeProvider time,
    ILogger<CallbackWorker> logger) : WorkLoop(signals, time, logger)
{
    public static readonly ActivitySource Source = new("Dispatch.Silo.Callbacks");
    private static readonly Meter Meter = new("Dispatch.Silo.Callbacks");
    private static readonly Counter<long> Results = Meter.CreateCounter<long>("dispatch.command.callbacks", "{callback}",
        "Command-system callback attempts by result (delivered, queued for retry, dead_lettered).");
    private static readonly Histogram<double> AckToCallback = Meter.CreateHistogram<double>("dispatch.command.callback.latency", "s",
        "From the acknowledgement to its callback being delivered.");

    protected override string Module => "callbacks";
    protected override string Channel => CommandCallbacks.Channel;
    protected override TimeSpan PollInterval => TimeSpan.FromSeconds(5);

    public override async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<ClaimedCallback> claimed;
        await using (var scope = await store.BeginEngineAsync(cancellationToken))
        {
            claimed = await CommandCallbacks.ClaimAsync(scope, Clock.GetUtcNow(), options.Value);
            await scope.CommitAsync(cancellationToken);
        }
        await Parallel.ForEachAsync(claimed, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (c, ct) => await SendAsync(c, ct));
        return claimed.Count;
    }

    private async Task SendAsync(ClaimedCallback callback, CancellationToken cancellationToken)
    {
        using var activity = Source.StartActivity("callback", ActivityKind.Client);
        activity?.SetTag("dispatch.event.id", callback.EventId);
        activity?.SetTag("dispatch.callback.attempt", callback.Attempt);
        var result = await PostAsync(callback, cancellationToken);

        await using var scope = await store.BeginEngineAsync(CancellationToken.None);
        var now = Clock.GetUtcNow();
        var status = await CommandCallbacks.CompleteAsync(scope, callback, result, now, options.Value, Random.Shared.NextDouble());
        await scope.CommitAsync(CancellationToken.None);

        Results.Add(1, new KeyValuePair<string, object?>("dispatch.result", status));
        if (status == "delivered")
        {
            var acknowledgedAt = CommandAcks.Parse(callback.Body).AcknowledgedAt;
            AckToCallback.Record(Math.Max(0, (now - acknowledgedAt).TotalSeconds));
        }
        else
        {
            activity?.SetStatus(ActivityStatusCode.Error, result.Error);
            logger.LogWarning("Callback {CallbackId} of event {EventId} attempt {Attempt}: {Status} ({Error})",
                callback.Id, callback.EventId, callback.Attempt, status, result.Error);
        }
    }

    private async Task<CallbackResult> PostAsync(ClaimedCallback callback, CancellationToken cancellationToken)
    {
        if (!callback.ConnectionActive) return new CallbackResult(false, null, "The command connection was deactivated.", Final: true);
        if (!Uri.TryCreate(callback.Url, UriKind.Absolute, out var url)) return new CallbackResult(false, null, "The connection has no valid public URL.", Final: true);
        using var request = WebhookTransport.SignedPost(url, callback.Secret, callback.Body, Clock.GetUtcNow());
        request.Headers.Add("X-Dispatch-Event-Id", callback.EventId.ToString());
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.Timeout);
        try
        {
            using var response = await http.SendAsync(request, timeout.Token);
            var code = (int)response.StatusCode;
            return response.IsSuccessStatusCode
                ? new CallbackResult(true, code, null)
                : new CallbackResult(false, code, $"HTTP {code} from the receiver at {url.IdnHost}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
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

    protected override async Task<DateTime?> NextDueAsync()
    {
        await using var scope = await store.BeginEngineAsync();
        return await CommandCallbacks.NextDueAsync(scope);
    }
}
