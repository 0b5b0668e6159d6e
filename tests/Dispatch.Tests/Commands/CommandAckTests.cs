using System.Net;
using System.Text.Json;
using Dispatch.Grains.Notifications;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Transports.Webhook;
using Dispatch.Tests.Escalation;
using Dispatch.Tests.Infrastructure;

namespace Dispatch.Tests.Commands;

/// <summary>What a PSAP's command system learns of acknowledgements: by polling with a cursor, or by signed callbacks from a Silo.</summary>
[Trait("Tier", "Full")] // real processes: a Silo, the Api or the AppHost
public sealed class CommandAckTests : EscalationWorld
{
    protected override Dictionary<string, string?> SiloSettings => new(base.SiloSettings)
    {
        ["Dispatch:Callbacks:MaxAttempts"] = "2",
        ["Dispatch:Callbacks:FirstRetryDelay"] = "00:00:00.200",
    };

    private async Task<(Guid Id, string Key, string Secret)> ConnectAsync(string name, string mode, Uri? url = null)
    {
        var created = await SendAsync(Admin, HttpMethod.Post, "/api/v1/command-connections", new { name, ackMode = mode, publicUrl = url?.ToString() });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        return (created.Body!["connection"]!["id"]!.GetValue<Guid>(), created.Body["apiKey"]!.GetValue<string>(),
            created.Body["callbackSecret"]!.GetValue<string>());
    }

    /// <summary>Acknowledges an incident for gasco as the on-call responder, in a transaction the caller commits.</summary>
    private async Task<AgencyScope> AckUncommittedAsync(Guid incident)
    {
        var scope = await Store.BeginAsync(new AgencyContext(Gasco, Oncall));
        Assert.False((await Acknowledgements.AcknowledgeIncidentAsync(scope, incident, AckSource.IncidentApi, Oncall, DateTimeOffset.UtcNow))!.Repeated);
        return scope;
    }

    private static async Task<(List<Guid> Incidents, string? Cursor)> PollAsync(HttpClient cad, string? cursor)
    {
        var page = await SendAsync(cad, HttpMethod.Get, "/api/v1/command/acks" + (cursor is null ? "" : $"?after={cursor}"));
        Assert.Equal(HttpStatusCode.OK, page.Status);
        return (page.Body!["items"]!.AsArray().Select(e => e!["incidentId"]!.GetValue<Guid>()).ToList(), page.Body["cursor"]?.GetValue<string>());
    }

    [Fact]
    public async Task A_poll_cursor_waits_for_an_earlier_transaction_that_commits_late_and_never_skips_its_event()
    {
        await SetUpAsync(repeatCount: 0);
        using var cad = As("ApiKey " + (await ConnectAsync("cad", "poll")).Key);
        var (early, late, third) = (await RaiseAsync("critical", Gasco), await RaiseAsync("critical", Gasco), await RaiseAsync("critical", Gasco));

        await using (var slow = await AckUncommittedAsync(early))
        {
            await using (var quick = await AckUncommittedAsync(late)) await quick.CommitAsync();
            var (seen, cursor) = await PollAsync(cad, null);
            Assert.Empty(seen); // the later commit waits behind the earlier transaction: handing it out now would let the cursor skip `early`
            Assert.Null(cursor);
            await slow.CommitAsync();
        }
        // Both now, in commit order — once every older transaction on the server has finished (the test run's other classes
        // share it, so `late` may still wait a moment behind one of theirs).
        var both = new List<Guid>();
        string? next = null;
        await Wait.UntilAsync(async () =>
        {
            var (items, cursor) = await PollAsync(cad, next);
            both.AddRange(items);
            next = cursor ?? next;
            return both.Count >= 2;
        }, TimeSpan.FromSeconds(10));
        Assert.Equal([early, late], both);
        Assert.Empty((await PollAsync(cad, next)).Incidents);

        Assert.Equal(HttpStatusCode.OK, (await SendAsync(await AsResponderAsync("supervisor@gasco.example"), HttpMethod.Post, $"/api/v1/incidents/{third}/ack")).Status);
        // Handed out once every older transaction has finished (the engine's own are milliseconds long).
        IReadOnlyList<Guid> after = [];
        await Wait.UntilAsync(async () => (after = (await PollAsync(cad, next)).Incidents).Count > 0, TimeSpan.FromSeconds(10));
        Assert.Equal([third], after);
        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(cad, HttpMethod.Get, "/api/v1/command/acks?after=garbage")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(GascoAdmin, HttpMethod.Get, "/api/v1/command/acks")).Status);
    }

    [Fact]
    public async Task A_poller_racing_concurrent_writers_receives_every_event_exactly_once()
    {
        await SetUpAsync(repeatCount: 0);
        using var cad = As("ApiKey " + (await ConnectAsync("cad", "poll")).Key);
        var incidents = new List<Guid>();
        for (var i = 0; i < 48; i++) incidents.Add(await RaiseAsync("critical", Gasco));

        var writers = incidents.Chunk(8).Select(chunk => Task.Run(async () =>
        {
            foreach (var incident in chunk)
            {
                await using var scope = await AckUncommittedAsync(incident);
                await Task.Delay(Random.Shared.Next(0, 40)); // commit late, while others commit
                await scope.CommitAsync();
            }
        })).ToList();
        var received = new List<Guid>();
        string? cursor = null;
        var allWritten = Task.WhenAll(writers);
        // An empty page does not mean "all seen": a poll holds back events behind any transaction still open on the server (the
        // test run's other classes share it), so the poller goes on until it has had as many events as were written, or a minute.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var done = allWritten.IsCompleted;
            var (items, next) = await PollAsync(cad, cursor);
            received.AddRange(items);
            cursor = next;
            if (done && items.Count == 0 && (received.Count >= incidents.Count || DateTime.UtcNow > deadline)) break;
            await Task.Delay(5);
        }
        await allWritten;
        Assert.Equal(received.Count, received.Distinct().Count());
        Assert.Equal(incidents.Order(), received.Order());
    }

    [Fact]
    public async Task Callbacks_are_signed_carry_the_event_id_and_a_failing_receiver_is_dead_lettered_and_listed()
    {
        await SetUpAsync(repeatCount: 0);
        await using var broken = await WebhookReceiver.StartAsync();
        broken.StatusCode = 500;
        var good = await ConnectAsync("cad", "callback", Webhooks.Url);
        var bad = await ConnectAsync("backup cad", "callback", broken.Url);
        await using var retired = await WebhookReceiver.StartAsync();
        var gone = await ConnectAsync("retired cad", "callback", retired.Url);
        var incident = await RaiseAsync("critical", Gasco);
        var before = DateTimeOffset.UtcNow;
        using var oncall = await AsResponderAsync("oncall@gasco.example");
        await Silo!.KillAsync(); // no Silo while the event is queued and one of its connections is deactivated
        // With no silo the Api cannot take the acknowledgement: it says so at once, and the request is safe to repeat.
        using (var refused = await oncall.PostAsync($"/api/v1/incidents/{incident}/ack", null))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
        }
        // An acknowledgement committed by a process killed before it woke the callbacks' grains: only the rows know.
        await using (var scope = await Store.BeginAsync(new AgencyContext(Gasco, Oncall)))
        {
            Assert.NotNull(await Acknowledgements.AcknowledgeIncidentAsync(scope, incident, AckSource.IncidentApi, Oncall, DateTimeOffset.UtcNow));
            await scope.CommitAsync();
        }
        Assert.Equal(HttpStatusCode.NoContent, (await SendAsync(Admin, HttpMethod.Delete, $"/api/v1/command-connections/{gone.Id}")).Status);
        await StartSiloAsync();

        await Wait.UntilAsync(() => Task.FromResult(Webhooks.Requests.Any(r => r.EventId != "")), TimeSpan.FromSeconds(30), () => Silo!.Output);
        var callback = Webhooks.Requests.Single(r => r.EventId != "");
        Assert.Equal("v1=" + WebhookTransport.Sign(good.Secret, callback.Timestamp, callback.Body), callback.Signature);
        Assert.NotEqual("v1=" + WebhookTransport.Sign(bad.Secret, callback.Timestamp, callback.Body), callback.Signature);
        Assert.InRange(long.Parse(callback.Timestamp), before.ToUnixTimeSeconds() - 1, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        var body = JsonDocument.Parse(callback.Body).RootElement;
        Assert.Equal(callback.EventId, body.GetProperty("eventId").GetString());
        Assert.Equal(incident, body.GetProperty("incidentId").GetGuid());
        Assert.Equal(Gasco, body.GetProperty("companyId").GetGuid());
        Assert.Equal("incident_api", body.GetProperty("source").GetString());
        Assert.True(body.GetProperty("allCompaniesAcknowledged").GetBoolean());

        await Wait.UntilAsync(async () => (await SendAsync(Admin, HttpMethod.Get, $"/api/v1/command-connections/{bad.Id}/callbacks?status=dead_lettered"))
            .Body!["total"]!.GetValue<long>() == 1, TimeSpan.FromSeconds(30), () => Silo!.Output);
        var dead = (await SendAsync(Admin, HttpMethod.Get, $"/api/v1/command-connections/{bad.Id}/callbacks")).Body!["items"]![0]!;
        Assert.Equal((2, 500), (dead["attemptCount"]!.GetValue<int>(), dead["lastStatusCode"]!.GetValue<int>()));
        Assert.Equal(2, broken.Requests.Count);
        var delivered = (await SendAsync(Admin, HttpMethod.Get, $"/api/v1/command-connections/{good.Id}/callbacks?status=delivered")).Body!;
        Assert.Equal(1, delivered["total"]!.GetValue<long>());
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(GascoAdmin, HttpMethod.Get, $"/api/v1/command-connections/{bad.Id}/callbacks")).Status);
        var dropped = (await SendAsync(Admin, HttpMethod.Get, $"/api/v1/command-connections/{gone.Id}/callbacks")).Body!["items"]![0]!;
        Assert.Equal(("dead_lettered", 1), (dropped["status"]!.GetValue<string>(), dropped["attemptCount"]!.GetValue<int>()));
        Assert.Contains("deactivated", dropped["lastError"]!.GetValue<string>());
        Assert.Empty(retired.Requests); // a connection deactivated after the event was queued is never called
    }
}
