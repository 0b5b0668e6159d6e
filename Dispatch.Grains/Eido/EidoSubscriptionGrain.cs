using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Transports;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;

namespace Dispatch.Grains.Eido;

public sealed class EidoOptions
{
    public const string Section = "Dispatch:Eido";

    /// <summary>How long connecting to a notifier (TCP, TLS, the WebSocket upgrade) may take.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The first wait before reconnecting after a dropped connection; doubled on each failure up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan FirstBackoff { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>WebSocket pings: a notifier that stops answering them for this long is taken as gone, and the subscriber reconnects.</summary>
    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a subscribe (or renewal) may wait for its subscribeResponse before the connection is dropped and made again.</summary>
    public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The largest message taken from a notifier; a larger one is answered 413.</summary>
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;
}

/// <summary>One EIDO subscription: the subscriber connected to its PSAP's notifier, and the single writer of what its EIDOs become.</summary>
public interface IEidoSubscriptionGrain : IGrainWithGuidKey
{
    /// <summary>Reads the subscription again: connects and subscribes (or reconnects with new settings) while it is active, stops when it is not.</summary>
    [OneWay]
    Task EnsureSubscribedAsync();

    /// <summary>An event pushed over HTTPS (or any other way than the subscriber's own connection): applied as the subscriber applies its own.</summary>
    Task<EidoOutcome> ApplyAsync(string transactionId, string via, string notificationJson);
}

/// <summary>
/// The subscriber of NENA-STA-024 for one subscription, in one grain in the cluster (so two silos never apply the same stream). It
/// opens a WebSocket to the notifier (through the outbound policy: internal addresses are refused), sends <c>subscribe</c>
/// (requestType EIDO, the subscription's subtype, the expiry it asks for), renews before the notifier's <c>expires</c> runs out,
/// answers every <c>event</c> with an <c>eventResponse</c> once the event is committed (200, or 400/413 with the reason an EIDO
/// could not be used, or 503 when the database cannot take it — never silence), answers a <c>terminate</c> and subscribes again,
/// and after a dropped connection reconnects with exponential backoff. Events are applied through <see cref="EidoIntake"/>, whose
/// row per transactionId makes a resent event harmless. A reminder brings the grain back after its silo dies; the silos' recovery
/// wakes it sooner, when the death is declared.
/// </summary>
internal sealed class EidoSubscriptionGrain(DispatchStore store, OutboundPolicy outbound, IOptions<EidoOptions> options, TimeProvider time,
    ILogger<EidoSubscriptionGrain> logger) : Grain, IEidoSubscriptionGrain, IRemindable
{
    private const string KeepSubscribed = "keep-subscribed";
    public static readonly ActivitySource Source = new("Dispatch.Eido");
    private static readonly Meter Meter = new("Dispatch.Eido");
    private static readonly Counter<long> Connects = Meter.CreateCounter<long>("dispatch.eido.connects", "{connection}",
        "Connections made to EIDO notifiers, by outcome (connected, failed).");

    private EidoSubscriberSettings? _settings;
    private CancellationTokenSource? _stop;
    private Task? _loop;
    private bool _reminded;
    private bool _accepted; // the notifier accepted a subscription on the current connection
    private Guid? _agency;  // the subscription's PSAP
    private static readonly EidoOutcome Inactive = new(481, "This subscription is not active at the subscriber.", false, [], 0, 0);
    private readonly SemaphoreSlim _sending = new(1, 1);
    private Guid Id => this.GetPrimaryKey();
    private EidoOptions Options => options.Value;

    public async Task EnsureSubscribedAsync()
    {
        EidoSubscriberSettings? settings;
        await using (var scope = await store.BeginEngineAsync())
            settings = await EidoSubscriptions.SubscriberAsync(scope, Id);
        if (settings is null)
        {
            await StopAsync();
            if (await this.GetReminder(KeepSubscribed) is { } reminder) await this.UnregisterReminder(reminder);
            _reminded = false;
            DeactivateOnIdle();
            return;
        }
        if (!_reminded)
        {
            await this.RegisterOrUpdateReminder(KeepSubscribed, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
            _reminded = true;
        }
        if (_loop is { IsCompleted: false } && _settings?.Version == settings.Version) return;
        await StopAsync();
        _settings = settings;
        _stop = new CancellationTokenSource();
        // Runs on this activation's scheduler, between its other turns: its state is only touched at its awaits.
        _loop = RunAsync(settings, _stop.Token);
        // An activation with a live connection is not collected as idle.
        DelayDeactivation(TimeSpan.FromDays(365));
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => EnsureSubscribedAsync();

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => await StopAsync();

    private async Task StopAsync()
    {
        if (_stop is null) return;
        await _stop.CancelAsync();
        if (_loop is not null) await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
        _stop.Dispose();
        (_stop, _loop) = (null, null);
    }

    public async Task<EidoOutcome> ApplyAsync(string transactionId, string via, string notificationJson)
    {
        JsonArray notification;
        try
        {
            notification = JsonNode.Parse(notificationJson) as JsonArray ?? throw new JsonException("not an array");
        }
        catch (JsonException e)
        {
            return new EidoOutcome(400, $"notification is not a JSON array of EIDOs ({e.Message}).", false, [], 0, 0);
        }
        return await ApplyEventAsync(transactionId, via, [.. notification], CancellationToken.None);
    }

    /// <summary>Applies one event in a transaction run as the subscription's PSAP, then wakes the grains of anything it raised.</summary>
    private async Task<EidoOutcome> ApplyEventAsync(string transactionId, string via, IReadOnlyList<JsonNode?> eidos, CancellationToken cancellationToken)
    {
        using var activity = Source.StartActivity("apply eido event");
        activity?.SetTag("dispatch.eido.subscription.id", Id);
        activity?.SetTag("dispatch.eido.via", via);
        // The PSAP a subscription belongs to never changes: read once per activation (the settings have it when the loop runs).
        if ((_agency ??= _settings?.AgencyId) is null)
            await using (var engine = await store.BeginEngineAsync(cancellationToken))
                _agency = await engine.ExecuteScalarAsync<Guid?>("select agency_id from eido_subscriptions where id = @id", new { id = Id });
        if (_agency is not { } agency) return Inactive;
        await using var scope = await store.BeginAsync(new AgencyContext(agency), cancellationToken);
        // Its mapping and whether it is active, as committed now: read in the event's own transaction, as the PSAP.
        var row = await scope.QuerySingleOrDefaultAsync<(string Mapping, bool IsActive)>(
            "select mapping::text, is_active from eido_subscriptions where id = @id", new { id = Id });
        if (row == default || !row.IsActive) return Inactive;
        var mapping = EidoMapping.FromJson(row.Mapping);
        var outcome = await EidoIntake.ApplyAsync(scope, Id, mapping, transactionId, via, eidos, time.GetUtcNow());
        await scope.CommitAsync(cancellationToken);
        await scope.Wakes.SendAsync(GrainFactory);
        activity?.SetTag("dispatch.eido.status_code", outcome.StatusCode);
        return outcome;
    }

    /// <summary>Connects, subscribes and serves the connection; after it drops, waits a backoff and does it again, until stopped.</summary>
    private async Task RunAsync(EidoSubscriberSettings settings, CancellationToken stop)
    {
        await Task.Yield(); // the caller's turn goes on; the loop continues between turns
        var failures = 0;
        while (!stop.IsCancellationRequested)
        {
            _accepted = false;
            try
            {
                await ServeAsync(settings, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or HttpRequestException or TimeoutException or OperationCanceledException
                                           or EidoProtocolException or JsonException or InvalidOperationException)
            {
                logger.LogWarning("EIDO subscription {SubscriptionId}: connection to its notifier ended ({Error}); reconnecting", Id, Describe(ex));
                await RecordAsync(null, null, null, Describe(ex));
            }
            // A connection the notifier accepted starts the backoff over, however it ended; one that failed at once waits longer each time.
            failures = _accepted ? 1 : failures + 1;
            var backoff = TimeSpan.FromTicks(Math.Min(Options.MaxBackoff.Ticks, Options.FirstBackoff.Ticks * (1L << Math.Min(failures - 1, 16))));
            backoff += TimeSpan.FromMilliseconds(Random.Shared.Next(0, (int)Math.Max(1, backoff.TotalMilliseconds / 4)));
            try
            {
                await Task.Delay(backoff, time, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>What went wrong, as an operator reads it: the exception and what it wraps ("Unable to connect…: Name or service not known").</summary>
    private static string Describe(Exception ex)
    {
        var refused = ex as OutboundRefusedException ?? ex.InnerException as OutboundRefusedException ?? ex.InnerException?.InnerException as OutboundRefusedException;
        if (refused is not null) return $"refused: {refused.Message}";
        var text = ex.Message;
        for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
            if (!text.Contains(inner.Message, StringComparison.Ordinal)) text += ": " + inner.Message;
        return text.Length > 500 ? text[..500] : text;
    }

    /// <summary>One connection: connect, subscribe, serve until it ends (returns when the notifier closes it, throws when it breaks).</summary>
    private async Task ServeAsync(EidoSubscriberSettings settings, CancellationToken stop)
    {
        using var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = Options.KeepAlive;
        socket.Options.KeepAliveTimeout = Options.KeepAlive;
        if (settings.Authorization is { } authorization) socket.Options.SetRequestHeader("Authorization", authorization);
        using var handler = outbound.CreateHandler();
        if (settings.ClientCertificate is { } pfx)
            handler.SslOptions.ClientCertificates = [X509CertificateLoader.LoadPkcs12(Convert.FromBase64String(pfx), settings.ClientCertificatePassword)];
        using var invoker = new HttpMessageInvoker(handler, disposeHandler: false);
        using (var connecting = CancellationTokenSource.CreateLinkedTokenSource(stop))
        {
            connecting.CancelAfter(Options.ConnectTimeout);
            try
            {
                await socket.ConnectAsync(new Uri(settings.NotifierUrl!), invoker, connecting.Token);
            }
            catch
            {
                Connects.Add(1, new KeyValuePair<string, object?>("dispatch.eido.outcome", "failed"));
                throw;
            }
        }
        Connects.Add(1, new KeyValuePair<string, object?>("dispatch.eido.outcome", "connected"));
        logger.LogInformation("EIDO subscription {SubscriptionId}: connected to its notifier", Id);
        await RecordAsync(null, null, time.GetUtcNow(), null);

        var session = new Session(settings);
        await SubscribeAsync(socket, session, renew: false, stop);
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var message = await ReceiveAsync(socket, session, stop);
                if (message is null) return; // the notifier closed the connection
                await HandleAsync(socket, session, message, stop);
            }
        }
        finally
        {
            // Whatever ended the conversation, the socket goes with it: aborting ends the receive still pending (a WebSocket receive
            // cannot be cancelled on its own). The notifier keeps the subscription until it expires or a new one replaces it.
            socket.Abort();
            await session.DisposeAsync();
        }
    }

    /// <summary>One message from the notifier: answered, applied or noted.</summary>
    private async Task HandleAsync(ClientWebSocket socket, Session session, JsonObject message, CancellationToken stop)
    {
        if (message["subscribeResponse"] is JsonObject response)
        {
            if (response["requestId"]?.GetValue<string>() != session.PendingRequest) return; // an answer to an earlier request
            session.PendingRequest = null;
            session.AnswerDue = null;
            var status = Int(response["statusCode"]);
            if (status == 200)
            {
                session.RemoteId = response["subscriptionId"]?.GetValue<string>() ?? session.RemoteId;
                var expires = TimeSpan.FromSeconds(Math.Max(1, Int(response["expires"]) is > 0 and var e ? e : session.Settings.ExpiresSeconds));
                // Renewed well before it runs out: at four fifths of its life, and at least ten seconds early when it is long.
                var margin = TimeSpan.FromTicks(Math.Max(expires.Ticks / 5, Math.Min(TimeSpan.FromSeconds(10).Ticks, expires.Ticks / 2)));
                session.Until = time.GetUtcNow() + expires;
                session.RenewAt = session.Until - margin;
                _accepted = true;
                await RecordAsync(session.RemoteId, session.Until, null, null);
                return;
            }
            if (status == 481 && session.RemoteId is not null)
            {
                // The notifier no longer knows the subscription being renewed: a new one.
                session.RemoteId = null;
                await SubscribeAsync(socket, session, renew: false, stop);
                return;
            }
            throw new EidoProtocolException($"the notifier refused the subscription: {status} {response["statusText"]?.ToString()}");
        }
        if (message["event"] is JsonObject ev)
        {
            var transactionId = ev["transactionId"]?.ToString();
            if (string.IsNullOrWhiteSpace(transactionId))
            {
                logger.LogWarning("EIDO subscription {SubscriptionId}: an event without a transactionId cannot be answered; ignored", Id);
                return;
            }
            EidoOutcome outcome;
            try
            {
                var eidos = ev["notification"] switch
                {
                    JsonArray array => [.. array],
                    null => [],
                    JsonNode single => new List<JsonNode?> { single }, // one EIDO not wrapped in an array: taken as it is
                };
                // Detached, so the intake may keep nodes without their parent message.
                outcome = await ApplyEventAsync(transactionId, EidoVia.WebSocket, eidos.Select(e => e?.DeepClone()).ToList(), stop);
            }
            catch (Exception ex) when (ex is DatabaseUnavailableException or Npgsql.NpgsqlException or TimeoutException && !stop.IsCancellationRequested)
            {
                logger.LogWarning("EIDO subscription {SubscriptionId}: event {TransactionId} could not be stored ({Error}); answered 503", Id, transactionId,
                    ex.Message);
                outcome = new EidoOutcome(503, "The subscriber cannot store the event now; send it again.", false, [], 0, 0);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A fault of this subscriber, not of the connection: answered (never silence) and logged, and the stream goes on — a
                // reconnect would only bring the same event back.
                logger.LogError(ex, "EIDO subscription {SubscriptionId}: event {TransactionId} could not be applied; answered 500", Id, transactionId);
                outcome = new EidoOutcome(500, "The subscriber failed to apply the event; its operators have been told.", false, [], 0, 0);
            }
            await SendAsync(socket, new JsonObject
            {
                ["eventResponse"] = new JsonObject
                {
                    ["transactionId"] = transactionId, ["statusCode"] = outcome.StatusCode, ["statusText"] = outcome.StatusText,
                },
            }, stop);
            return;
        }
        if (message["terminate"] is JsonObject terminate)
        {
            await SendAsync(socket, new JsonObject
            {
                ["terminateResponse"] = new JsonObject
                {
                    ["requestId"] = terminate["requestId"]?.DeepClone(), ["subscriptionId"] = terminate["subscriptionId"]?.DeepClone(),
                    ["statusCode"] = 200, ["statusText"] = "OK",
                },
            }, stop);
            logger.LogInformation("EIDO subscription {SubscriptionId}: the notifier terminated the subscription; subscribing again", Id);
            session.RemoteId = null;
            await RecordAsync(null, null, null, "terminated by the notifier; subscribed again");
            await SubscribeAsync(socket, session, renew: false, stop);
            return;
        }
        if (message["unreadable"] is JsonObject unreadable)
        {
            var id = unreadable["transactionId"]?.ToString();
            logger.LogWarning("EIDO subscription {SubscriptionId}: a message could not be read ({Reason}); {Answer}", Id, unreadable["statusText"]?.ToString(),
                id is null ? "no transactionId found in it to answer" : "answered as an event");
            if (id is not null)
                await SendAsync(socket, new JsonObject
                {
                    ["eventResponse"] = new JsonObject
                    {
                        ["transactionId"] = id, ["statusCode"] = unreadable["statusCode"]!.DeepClone(), ["statusText"] = unreadable["statusText"]!.DeepClone(),
                    },
                }, stop);
            return;
        }
        if (message["response"] is JsonObject other)
            logger.LogWarning("EIDO subscription {SubscriptionId}: the notifier answered {Status} {Text}", Id, Int(other["statusCode"]), other["statusText"]?.ToString());
        else if (message["unsubscribeResponse"] is null)
            logger.LogWarning("EIDO subscription {SubscriptionId}: a message of a kind STA-024 does not define was ignored", Id);
    }

    /// <summary>Sends <c>subscribe</c>: a new subscription, or (with its id) a renewal of the current one.</summary>
    private async Task SubscribeAsync(ClientWebSocket socket, Session session, bool renew, CancellationToken stop)
    {
        var request = new JsonObject { ["requestId"] = session.PendingRequest = Guid.NewGuid().ToString() };
        if (renew && session.RemoteId is { } remote) request["subscriptionId"] = remote;
        else
        {
            request["requestType"] = "EIDO";
            request["requestSubType"] = session.Settings.SubType;
            request["requestAccepts"] = "application/emergency.eido+json";
            if (session.Settings.IncidentId is { } incident) request["incidentId"] = incident;
        }
        request["expires"] = session.Settings.ExpiresSeconds;
        session.AnswerDue = time.GetUtcNow() + Options.ResponseTimeout;
        session.RenewAt = null;
        await SendAsync(socket, new JsonObject { ["subscribe"] = request }, stop);
    }

    /// <summary>
    /// The next message, while keeping time: a renewal is sent when it is due, and a subscribe left unanswered drops the connection.
    /// A WebSocket receive cannot be cancelled without aborting the socket, so one receive stays pending across the waits.
    /// </summary>
    private async Task<JsonObject?> ReceiveAsync(ClientWebSocket socket, Session session, CancellationToken stop)
    {
        while (true)
        {
            session.Receiving ??= ReadMessageAsync(socket, stop);
            var due = new[] { session.RenewAt, session.AnswerDue }.Where(d => d is not null).Min();
            if (due is { } at)
            {
                var wait = at - time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    using var timer = CancellationTokenSource.CreateLinkedTokenSource(stop);
                    var delay = Task.Delay(wait, time, timer.Token);
                    var first = await Task.WhenAny(session.Receiving, delay);
                    await timer.CancelAsync();
                    await delay.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
                    stop.ThrowIfCancellationRequested();
                    if (first == session.Receiving) return await TakeAsync(session);
                }
                if (session.AnswerDue is { } answerDue && answerDue <= time.GetUtcNow())
                    throw new EidoProtocolException($"the notifier did not answer subscribe within {Options.ResponseTimeout.TotalSeconds:0} s");
                if (session.RenewAt is { } renewAt && renewAt <= time.GetUtcNow()) await SubscribeAsync(socket, session, renew: true, stop);
                continue;
            }
            return await TakeAsync(session);
        }
    }

    private static async Task<JsonObject?> TakeAsync(Session session)
    {
        var receiving = session.Receiving!;
        session.Receiving = null;
        return await receiving;
    }

    /// <summary>
    /// One whole message as a JSON object; null when the notifier closed. A message over the limit is read to its end and dropped,
    /// and one that is not a JSON object is dropped too: each becomes an <c>unreadable</c> message carrying the transactionId found
    /// in its first bytes, so that an event can still be answered (413, 400) rather than come back after a reconnect, forever.
    /// </summary>
    private async Task<JsonObject?> ReadMessageAsync(ClientWebSocket socket, CancellationToken stop)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        var length = 0L;
        while (true)
        {
            var result = await socket.ReceiveAsync(chunk, stop);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                logger.LogInformation("EIDO subscription {SubscriptionId}: the notifier closed the connection ({Status} {Description})", Id,
                    result.CloseStatus, result.CloseStatusDescription);
                return null;
            }
            length += result.Count;
            // Over the limit, only the first chunk is kept (for the transactionId); the rest is read and let go.
            if (length <= Options.MaxMessageBytes || buffer.Length < chunk.Length) buffer.Write(chunk, 0, result.Count);
            if (!result.EndOfMessage) continue;
            if (length > Options.MaxMessageBytes)
                return Unreadable(buffer, 413, $"The message is {length} bytes, over the subscriber's limit of {Options.MaxMessageBytes}.");
            try
            {
                return JsonNode.Parse(buffer.ToArray()) as JsonObject ?? Unreadable(buffer, 400, "The message is not a JSON object.");
            }
            catch (JsonException e)
            {
                return Unreadable(buffer, 400, $"The message is not JSON: {e.Message}");
            }
        }
    }

    private static JsonObject Unreadable(MemoryStream buffer, int status, string reason)
    {
        var head = Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)Math.Min(buffer.Length, 64 * 1024));
        var transactionId = System.Text.RegularExpressions.Regex.Match(head, "\"transactionId\"\\s*:\\s*\"([^\"]{1,200})\"") is { Success: true } m
            ? m.Groups[1].Value : null;
        return new JsonObject { ["unreadable"] = new JsonObject { ["transactionId"] = transactionId, ["statusCode"] = status, ["statusText"] = reason } };
    }

    private async Task SendAsync(ClientWebSocket socket, JsonObject message, CancellationToken stop)
    {
        var bytes = Encoding.UTF8.GetBytes(message.ToJsonString());
        await _sending.WaitAsync(stop);
        try
        {
            await socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, stop);
        }
        finally
        {
            _sending.Release();
        }
    }

    private async Task RecordAsync(string? remoteId, DateTimeOffset? until, DateTimeOffset? connectedAt, string? error)
    {
        try
        {
            await using var scope = await store.BeginEngineAsync();
            await EidoSubscriptions.RecordStateAsync(scope, Id, remoteId, until, connectedAt, error);
            await scope.CommitAsync();
        }
        catch (Exception ex) when (ex is DatabaseUnavailableException or Npgsql.NpgsqlException or TimeoutException)
        {
            logger.LogDebug("EIDO subscription {SubscriptionId}: its state could not be recorded ({Error})", Id, ex.Message);
        }
    }

    private static int Int(JsonNode? node) => node is JsonValue v && (v.TryGetValue<int>(out var i) || (v.TryGetValue<string>(out var s) && int.TryParse(s, out i))) ? i : 0;

    /// <summary>One connection's subscription: what was asked and not yet answered, and when to renew.</summary>
    private sealed class Session(EidoSubscriberSettings settings) : IAsyncDisposable
    {
        public EidoSubscriberSettings Settings { get; } = settings;
        public string? RemoteId { get; set; }
        public string? PendingRequest { get; set; }
        public DateTimeOffset? AnswerDue { get; set; }
        public DateTimeOffset? RenewAt { get; set; }
        public DateTimeOffset? Until { get; set; }
        public Task<JsonObject?>? Receiving { get; set; }

        public async ValueTask DisposeAsync()
        {
            if (Receiving is not null) await ((Task)Receiving).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
        }
    }
}

/// <summary>The notifier broke the conversation: refused a subscription, left one unanswered, or sent what STA-024 does not allow.</summary>
public sealed class EidoProtocolException(string message) : Exception(message);
