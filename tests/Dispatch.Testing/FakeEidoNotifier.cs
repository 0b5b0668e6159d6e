using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Dispatch.Testing;

/// <summary>
/// A PSAP's EIDO notifier as NENA-STA-024 describes it, on a loopback port (<c>ws://127.0.0.1:port/ent</c>): it accepts a WebSocket,
/// answers <c>subscribe</c> with a <c>subscribeResponse</c> (a new subscription id, or the same one renewed; 481 for a renewal of an
/// id it does not know), sends <c>event</c>s to the subscribed connection and expects an <c>eventResponse</c> for each. Like a
/// notifier that must not lose an event, it keeps every event until it is answered and sends the unanswered ones again to the next
/// subscription. On cue it terminates the subscription, drops the connection, or loses an answer in transit.
/// </summary>
public sealed class FakeEidoNotifier : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly object _gate = new();
    private Connection? _current;
    private readonly List<(string TransactionId, JsonArray Notification)> _unanswered = [];
    private readonly HashSet<string> _subscriptions = [];

    /// <summary>A subscribe received: whether it renewed an existing subscription, its subtype, and the Authorization header of its connection.</summary>
    public sealed record Subscribe(string RequestId, string? SubscriptionId, bool Renewal, string? SubType, string? IncidentId, int? Expires,
        string? Authorization);

    /// <summary>An eventResponse received; <paramref name="At"/> is <see cref="Stopwatch.GetTimestamp"/> when it arrived.</summary>
    public sealed record Answer(string TransactionId, int StatusCode, string StatusText, long At);

    public ConcurrentQueue<Subscribe> Subscribes { get; } = new();
    public ConcurrentQueue<Answer> Answers { get; } = new();
    public ConcurrentQueue<JsonNode> TerminateResponses { get; } = new();

    /// <summary>How many WebSocket connections were accepted.</summary>
    public int Connections => Volatile.Read(ref _connections);

    private int _connections;

    /// <summary>The <c>expires</c> (seconds) this notifier grants; the subscriber must renew before it runs out.</summary>
    public int GrantedExpires { get; set; } = 3600;

    /// <summary>When set, the next eventResponse is lost in transit: not recorded, the event stays unanswered, and the connection drops.</summary>
    public bool LoseNextAnswer { get; set; }

    public Uri Url { get; }

    private FakeEidoNotifier(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public static async Task<FakeEidoNotifier> StartAsync()
    {
        var app = LoopbackApp.Create();
        app.UseWebSockets();
        FakeEidoNotifier? fake = null;
        app.Map("/ent", async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = 426;
                return;
            }
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            await fake!.ServeAsync(socket, context.Request.Headers.Authorization.ToString() is { Length: > 0 } a ? a : null, context.RequestAborted);
        });
        var address = await LoopbackApp.StartAsync(app);
        fake = new FakeEidoNotifier(app, new Uri($"ws://127.0.0.1:{address.Port}/ent"));
        return fake;
    }

    /// <summary>Whether a subscriber is connected and subscribed now.</summary>
    public bool Subscribed
    {
        get
        {
            lock (_gate) return _current is { SubscriptionId: not null };
        }
    }

    /// <summary>Sends an event carrying these EIDOs to the subscriber (or keeps it for the next subscription); returns its transactionId.</summary>
    public async Task<string> SendEventAsync(params JsonNode[] eidos) => await SendEventAsync(Guid.NewGuid().ToString(), eidos);

    public async Task<string> SendEventAsync(string transactionId, params JsonNode[] eidos)
    {
        var notification = new JsonArray([.. eidos.Select(e => e.DeepClone())]);
        Connection? current;
        lock (_gate)
        {
            _unanswered.Add((transactionId, notification));
            current = _current is { SubscriptionId: not null } ? _current : null;
        }
        if (current is not null) await current.SendEventAsync(transactionId, notification);
        return transactionId;
    }

    /// <summary>Sends a text message as it is (a broken one, say) to the subscribed connection.</summary>
    public async Task SendRawAsync(string text)
    {
        Connection? current;
        lock (_gate) current = _current is { SubscriptionId: not null } ? _current : null;
        if (current is null) throw new InvalidOperationException("No subscriber to send to.");
        await current.SendTextAsync(text);
    }

    /// <summary>Terminates the current subscription (the subscriber should answer and subscribe again).</summary>
    public async Task TerminateAsync()
    {
        Connection? current;
        lock (_gate)
        {
            current = _current;
            if (current?.SubscriptionId is { } id) _subscriptions.Remove(id);
        }
        if (current?.SubscriptionId is not { } subscription) throw new InvalidOperationException("No subscription to terminate.");
        current.SubscriptionId = null;
        await current.SendAsync(new JsonObject { ["terminate"] = new JsonObject { ["requestId"] = Guid.NewGuid().ToString(), ["subscriptionId"] = subscription } });
    }

    /// <summary>Drops the current connection abruptly, as a network failure would.</summary>
    public void Drop()
    {
        lock (_gate) _current?.Socket.Abort();
    }

    /// <summary>Events sent and not answered yet.</summary>
    public int Unanswered
    {
        get
        {
            lock (_gate) return _unanswered.Count;
        }
    }

    private async Task ServeAsync(WebSocket socket, string? authorization, CancellationToken aborted)
    {
        Interlocked.Increment(ref _connections);
        var connection = new Connection(socket);
        lock (_gate)
        {
            _current?.Socket.Abort(); // one subscriber at a time: a new connection replaces the old one
            _current = connection;
        }
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var message = await ReceiveAsync(socket, aborted);
                if (message is null) break;
                if (message["subscribe"] is JsonObject subscribe) await OnSubscribeAsync(connection, subscribe, authorization);
                else if (message["eventResponse"] is JsonObject answer) OnAnswer(connection, answer);
                else if (message["terminateResponse"] is JsonObject terminated) TerminateResponses.Enqueue(terminated.DeepClone());
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
            // dropped: the subscriber reconnects
        }
        finally
        {
            lock (_gate)
                if (_current == connection) _current = null;
        }
    }

    private async Task OnSubscribeAsync(Connection connection, JsonObject subscribe, string? authorization)
    {
        var requestId = subscribe["requestId"]?.ToString() ?? "";
        var renewing = subscribe["subscriptionId"]?.ToString();
        Subscribes.Enqueue(new Subscribe(requestId, renewing, renewing is not null, subscribe["requestSubType"]?.ToString(),
            subscribe["incidentId"]?.ToString(), subscribe["expires"]?.GetValue<int>(), authorization));
        string? id;
        lock (_gate) id = renewing is null ? Guid.NewGuid().ToString() : _subscriptions.Contains(renewing) ? renewing : null;
        if (id is null)
        {
            await connection.SendAsync(new JsonObject
            {
                ["subscribeResponse"] = new JsonObject { ["requestId"] = requestId, ["statusCode"] = 481, ["statusText"] = "Subscription does not exist" },
            });
            return;
        }
        List<(string, JsonArray)> resend;
        lock (_gate)
        {
            _subscriptions.Add(id);
            connection.SubscriptionId = id;
            resend = renewing is null ? [.. _unanswered] : [];
        }
        await connection.SendAsync(new JsonObject
        {
            ["subscribeResponse"] = new JsonObject
            {
                ["requestId"] = requestId, ["subscriptionId"] = id, ["expires"] = GrantedExpires, ["statusCode"] = 200, ["statusText"] = "OK",
            },
        });
        foreach (var (transactionId, notification) in resend) await connection.SendEventAsync(transactionId, notification);
    }

    private void OnAnswer(Connection connection, JsonObject answer)
    {
        var transactionId = answer["transactionId"]?.ToString() ?? "";
        if (LoseNextAnswer)
        {
            LoseNextAnswer = false;
            connection.Socket.Abort();
            return;
        }
        Answers.Enqueue(new Answer(transactionId, answer["statusCode"]?.GetValue<int>() ?? 0, answer["statusText"]?.ToString() ?? "", Stopwatch.GetTimestamp()));
        lock (_gate) _unanswered.RemoveAll(u => u.TransactionId == transactionId);
    }

    private static async Task<JsonObject?> ReceiveAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        while (true)
        {
            var result = await socket.ReceiveAsync(chunk, cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close) return null;
            buffer.Write(chunk, 0, result.Count);
            if (result.EndOfMessage) return JsonNode.Parse(buffer.ToArray()) as JsonObject;
        }
    }

    private sealed class Connection(WebSocket socket)
    {
        private readonly SemaphoreSlim _sending = new(1, 1);
        public WebSocket Socket { get; } = socket;
        public string? SubscriptionId { get; set; }

        public Task SendEventAsync(string transactionId, JsonArray notification) => SendAsync(new JsonObject
        {
            ["event"] = new JsonObject { ["subscriptionId"] = SubscriptionId, ["transactionId"] = transactionId, ["notification"] = notification.DeepClone() },
        });

        public Task SendAsync(JsonObject message) => SendTextAsync(message.ToJsonString());

        public async Task SendTextAsync(string text)
        {
            await _sending.WaitAsync();
            try
            {
                if (Socket.State == WebSocketState.Open)
                    await Socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);
            }
            catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
            {
                // dropped meanwhile: the event stays unanswered and is sent again to the next subscription
            }
            finally
            {
                _sending.Release();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Drop();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
