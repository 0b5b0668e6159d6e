using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using Dispatch.Tests.Deliveries;
using Dispatch.Tests.Infrastructure;
using Npgsql;

namespace Dispatch.Tests.Eido;

/// <summary>
/// "A utility hears of a gas leak from the PSAP's NG9-1-1 system the moment it is entered": EIDO subscriptions end to end, against
/// a local STA-024 notifier, with the real Api, real Silo processes and PostgreSQL.
/// </summary>
[Trait("Tier", "Full")] // real processes: Silos, one killed
public sealed class EidoIntakeTests : DeliveryWorld
{
    private FakeEidoNotifier _notifier = null!;

    protected override Dictionary<string, string?> SiloSettings => new(base.SiloSettings)
    {
        ["Dispatch:Eido:FirstBackoff"] = "00:00:00.100",
        ["Dispatch:Eido:MaxBackoff"] = "00:00:01",
        ["Dispatch:Eido:MaxMessageBytes"] = "65536",
        ["Dispatch:Recovery:SweepInterval"] = "00:00:02",
    };

    protected override async Task StartProvidersAsync()
    {
        _notifier = await FakeEidoNotifier.StartAsync();
        Provide(_notifier, new Dictionary<string, string?>());
    }

    private static JsonNode Sample(string name) => EidoReaderTests.Sample(name);

    /// <summary>A copy of a sample EIDO for another incident.</summary>
    private static JsonNode Another(string name, string id)
    {
        var eido = Sample(name);
        eido["$id"] = $"urn:emergency:uid:incidentid:{id}:psap.county.example";
        eido.AsObject().Remove("incidentTrackingIdentifier");
        return eido;
    }

    private async Task<FakeEidoNotifier.Answer> AnswerAsync(string transactionId, int seconds = 30)
    {
        await Wait.UntilAsync(() => Task.FromResult(_notifier.Answers.Any(a => a.TransactionId == transactionId)), TimeSpan.FromSeconds(seconds),
            () => Silo?.Output ?? "");
        return _notifier.Answers.First(a => a.TransactionId == transactionId);
    }

    private async Task<Guid> SubscribeAsync(object mapping, object? credentials = null)
    {
        var created = await SendAsync(Admin, HttpMethod.Post, "/api/v1/eido-subscriptions",
            new { name = "County NG9-1-1", notifierUrl = _notifier.Url.ToString(), credentials, mapping });
        Assert.True(created.Status == HttpStatusCode.Created, created.Body?.ToJsonString());
        await Wait.UntilAsync(() => Task.FromResult(_notifier.Subscribed), TimeSpan.FromSeconds(30), () => Silo?.Output ?? "");
        return created.Body!["id"]!.GetValue<Guid>();
    }

    private async Task<int> CountAsync(string sql, object? parameters = null)
    {
        await using var c = new NpgsqlConnection(ConnectionString);
        return await c.ExecuteScalarAsync<int>(sql, parameters);
    }

    [Fact]
    public async Task A_subscribed_eido_raises_and_notifies_an_update_moves_the_incident_and_tells_them_and_pushed_eidos_apply_once()
    {
        var (gasco, gascoAdmin, _) = await OnboardCompanyAsync("gasco");
        await RuleAsync(gasco, await ChannelAsync(gasco, "email", "ops email", "{}"), null);
        var mapping = new
        {
            rules = new object[] { new { type = "Fire-Gas", companies = new[] { gasco } }, new { type = "Hazmat-Spill" } },
            priorities = new[] { new { atLeast = 8, priority = "irod" }, new { atLeast = 5, priority = "critical" } },
            defaultPriority = "dangerous",
        };

        // Refused at the edge, every field at once: a notifier over plain HTTP, a priority Dispatch does not have, a connection that is not the PSAP's.
        var refused = await SendAsync(Admin, HttpMethod.Post, "/api/v1/eido-subscriptions", new
        {
            name = "x", notifierUrl = "http://notifier.example/ent", commandConnectionId = Guid.NewGuid(),
            mapping = new { rules = new[] { new { type = "Fire-Gas", priority = "urgent" } } },
        });
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal(["commandConnectionId", "mapping.rules[0].priority", "notifierUrl"], refused.Body!["errors"]!.AsObject().Select(e => e.Key).Order());
        var internalUrl = await SendAsync(Admin, HttpMethod.Post, "/api/v1/eido-subscriptions", new { name = "x", notifierUrl = "wss://169.254.169.254/ent" });
        Assert.Contains("refused", internalUrl.Body!["errors"]!["notifierUrl"]![0]!.GetValue<string>());

        var id = await SubscribeAsync(mapping, new { authorization = "Bearer county-eido-token" });
        var subscribe = _notifier.Subscribes.First();
        Assert.Equal(("new", 3600, "Bearer county-eido-token", false), (subscribe.SubType, subscribe.Expires, subscribe.Authorization, subscribe.Renewal));
        var shown = await SendAsync(Admin, HttpMethod.Get, $"/api/v1/eido-subscriptions/{id}");
        Assert.Equal(["authorization"], shown.Body!["credentialsSet"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.DoesNotContain("county-eido-token", shown.Body.ToJsonString());
        Assert.NotNull(shown.Body["state"]!["remoteSubscriptionId"]);
        Assert.Equal(0, await CountAsync("select count(*) from eido_subscriptions where credentials::text like '%county-eido-token%'")); // sealed at rest

        // The dry run shows what the EIDO would become, storing nothing.
        using (var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/eido-subscriptions/{id}/dry-run")
               { Content = new StringContent(Sample("gas-leak-civic.json").ToJsonString(), Encoding.UTF8, "application/json") })
        using (var response = await Admin.SendAsync(request))
        {
            var dry = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.True(response.IsSuccessStatusCode, dry.ToJsonString());
            var item = dry["items"]![0]!;
            Assert.Equal((true, "irod", "1204 N Walnut St, Unit 2, Springfield, IL 62702, US"),
                (item["wouldRaise"]!.GetValue<bool>(), item["priority"]!.GetValue<string>(), item["call"]!["address"]!.GetValue<string>()));
        }
        Assert.Equal(0, await CountAsync("select count(*) from cfs_incidents"));

        // The event: answered 200 once committed; the call, raised as an incident for gasco, whose admin is emailed.
        var first = await _notifier.SendEventAsync(Sample("gas-leak-civic.json"));
        Assert.Equal(200, (await AnswerAsync(first)).StatusCode);
        var calls = (await SendAsync(Admin, HttpMethod.Get, "/api/v1/cfs-incidents?source=eido")).Body!["items"]!.AsArray();
        var call = Assert.Single(calls)!;
        Assert.Equal(("eido", id), (call["source"]!.GetValue<string>(), call["eidoSubscriptionId"]!.GetValue<Guid>()));
        var incident = await LinkedIncidentAsync(call["id"]!.GetValue<Guid>());
        var raised = (await IncidentAsync(incident))["incident"]!;
        Assert.Equal(("GAS LEAK - INSIDE STRUCTURE (NG9-1-1 incident SPF-2026-120601)", "irod", "1204 N Walnut St, Unit 2, Springfield, IL 62702, US"),
            (raised["title"]!.GetValue<string>(), raised["priority"]!.GetValue<string>(), raised["address"]!.GetValue<string>()));
        await Wait.UntilAsync(() => Task.FromResult(Smtp.Messages().Any(m => m.ToAddress == gascoAdmin)), TimeSpan.FromSeconds(60), () => Silo!.Output);
        var single = (await SendAsync(Admin, HttpMethod.Get, $"/api/v1/cfs-incidents/{call["id"]}")).Body!;
        Assert.Contains("urn:emergency:uid:incidentid:2026-120601", single["rawXml"]!.GetValue<string>()); // the EIDO as received, for the PSAP
        Assert.Equal(0, await CountAsync("select count(*) from cfs_incidents where encode(raw_xml, 'escape') like '%Walnut%'")); // encrypted at rest

        // The update moves the address: logged, the incident follows, and the admin is told.
        var moved = await _notifier.SendEventAsync(Sample("gas-leak-moved.json"));
        Assert.Equal(200, (await AnswerAsync(moved)).StatusCode);
        await Wait.UntilAsync(async () => (await IncidentAsync(incident))["incident"]!["address"]!.GetValue<string>() == "1240 N Walnut St, Springfield, IL 62702, US",
            TimeSpan.FromSeconds(30), () => Silo!.Output);
        var log = (await SendAsync(Admin, HttpMethod.Get, $"/api/v1/incidents/{incident}/communications?pageSize=100")).Body!["items"]!.AsArray();
        Assert.Contains("The NG9-1-1 system updated NG9-1-1 incident", log.Single(e => e!["communicationType"]!.GetValue<string>() == "cfs_update")!["content"]!.GetValue<string>());
        await Wait.UntilAsync(() => Task.FromResult(Smtp.Messages().Any(m => m.ToAddress == gascoAdmin && m.Subject.Contains("UPDATE"))),
            TimeSpan.FromSeconds(60), () => Silo!.Output);
        Assert.Contains("1240 N Walnut St", Smtp.Messages().Single(m => m.Subject.Contains("UPDATE")).Decoded);

        // The first EIDO again, in a new event: older than what is stored, so answered but not applied.
        var stale = await AnswerAsync(await _notifier.SendEventAsync(Sample("gas-leak-civic.json")));
        Assert.Equal(200, stale.StatusCode);
        Assert.Contains("older than what was already received", stale.StatusText);
        Assert.Equal("1240 N Walnut St, Springfield, IL 62702, US", (await IncidentAsync(incident))["incident"]!["address"]!.GetValue<string>());

        // One event, three EIDOs: a crash no rule names (kept for a dispatcher), a gas leak whose location cannot be read (raised at the
        // default priority, with warnings), and one that names no incident — answered 400 naming it, the other two applied.
        var noId = Sample("crash-geodetic.json").AsObject();
        noId.Remove("$id");
        var mixed = await AnswerAsync(await _notifier.SendEventAsync(Sample("crash-geodetic.json"), Sample("malformed-pidf.json"), noId));
        Assert.Equal(400, mixed.StatusCode);
        Assert.Contains("notification[2]: The EIDO names no incident", mixed.StatusText);
        var malformed = (await SendAsync(Admin, HttpMethod.Get, "/api/v1/cfs-incidents?source=eido")).Body!["items"]!.AsArray()
            .Single(c => c!["externalCfsId"]!.GetValue<string>().Contains("77aa01"))!;
        Assert.Equal(3, malformed["warnings"]!.AsArray().Count);
        Assert.Equal("dangerous", (await IncidentAsync(await LinkedIncidentAsync(malformed["id"]!.GetValue<Guid>())))["incident"]!["priority"]!.GetValue<string>());
        var crash = (await SendAsync(Admin, HttpMethod.Get, "/api/v1/cfs-incidents?linked=false")).Body!["items"]!.AsArray();
        Assert.Equal((39.78172, "critical"), (crash.Single()!["latitude"]!.GetValue<double>(), crash.Single()!["priority"]!.GetValue<string>()));
        // A process killed between an event's commit and the incident grain's raise leaves the work in the new incident's inbox;
        // the silos' recovery hands it to the grain. (Written here as such a commit leaves it, with no grain told.)
        var crashCall = crash.Single()!["id"]!.GetValue<Guid>();
        var orphan = Guid.CreateVersion7();
        await using (var c = new NpgsqlConnection(ConnectionString))
            await c.ExecuteAsync("""
                insert into incident_inbox (incident_id, agency_id, kind, cfs_incident_id, payload)
                select @orphan, agency_id, 'raise', @crashCall, @plan::jsonb from eido_subscriptions where id = @id
                """, new { orphan, crashCall, id, plan = new JsonObject { ["priority"] = "critical", ["title"] = "VEHICLE CRASH (left behind)",
                    ["companies"] = new JsonArray(gasco.ToString()) }.ToJsonString() });
        Assert.Equal(orphan, await LinkedIncidentAsync(crashCall));
        Assert.Equal("VEHICLE CRASH (left behind)", (await IncidentAsync(orphan))["incident"]!["title"]!.GetValue<string>());

        var events = (await SendAsync(Admin, HttpMethod.Get, $"/api/v1/eido-subscriptions/{id}/events")).Body!;
        Assert.Equal(4, events["total"]!.GetValue<int>());
        Assert.Equal(400, events["items"]![0]!["statusCode"]!.GetValue<int>());

        // Pushed over HTTPS by the PSAP's CAD link, into the subscription that names it: applied once, whether sent again with the
        // same Idempotency-Key or the same content.
        var connection = await SendAsync(Admin, HttpMethod.Post, "/api/v1/command-connections", new { name = "County CAD" });
        using var cad = As("ApiKey " + connection.Body!["apiKey"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Forbidden, (await PushAsync(cad, Sample("references.json"))).Status); // no subscription takes its EIDOs yet
        var named = await SendAsync(Admin, HttpMethod.Put, $"/api/v1/eido-subscriptions/{id}", new
        {
            name = "County NG9-1-1", notifierUrl = _notifier.Url.ToString(), commandConnectionId = connection.Body["connection"]!["id"]!.GetValue<Guid>(), mapping,
        });
        Assert.Equal(HttpStatusCode.OK, named.Status);
        Assert.Equal(["authorization"], named.Body!["credentialsSet"]!.AsArray().Select(c => c!.GetValue<string>())); // left out: kept
        var pushed = await PushAsync(cad, Sample("references.json"), "cad-push-0001");
        Assert.Equal(HttpStatusCode.OK, pushed.Status);
        Assert.Equal(("cad-push-0001", false), (pushed.Body!["transactionId"]!.GetValue<string>(), pushed.Body["repeated"]!.GetValue<bool>()));
        var again = await PushAsync(cad, Sample("references.json"), "cad-push-0001");
        Assert.Equal((HttpStatusCode.OK, true), (again.Status, again.Body!["repeated"]!.GetValue<bool>()));
        var hashed = await PushAsync(cad, Another("crash-geodetic.json", "push-by-content"));
        var hashedAgain = await PushAsync(cad, Another("crash-geodetic.json", "push-by-content"));
        Assert.StartsWith("sha256:", hashed.Body!["transactionId"]!.GetValue<string>());
        Assert.True(hashedAgain.Body!["repeated"]!.GetValue<bool>());
        Assert.Equal(1, await CountAsync("select count(*) from cfs_incidents where external_cfs_id like '%push-by-content%' and version = 1")); // not raised: never linked
        var unusable = await PushAsync(cad, new JsonObject { ["EIDOVersion"] = "1.0" });
        Assert.Equal(HttpStatusCode.BadRequest, unusable.Status);
        Assert.Contains("names no incident", unusable.Body!["detail"]!.GetValue<string>());
        using (var garbage = new HttpRequestMessage(HttpMethod.Post, "/api/v1/eido") { Content = new StringContent("{not json", Encoding.UTF8, "application/json") })
        using (var response = await cad.SendAsync(garbage))
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await PushAsync(Admin, Sample("references.json"))).Status); // a person is not a CAD link
    }

    private static async Task<(HttpStatusCode Status, JsonNode? Body)> PushAsync(HttpClient client, JsonNode eido, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/eido")
        {
            Content = new StringContent(eido.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    [Fact]
    public async Task A_lost_answer_a_dropped_connection_a_terminate_and_a_killed_silo_lose_no_event_and_apply_none_twice()
    {
        var (gasco, _, _) = await OnboardCompanyAsync("gasco");
        _notifier.GrantedExpires = 3; // renewed every second or two
        var id = await SubscribeAsync(new
        {
            rules = new[] { new { type = "*", companies = new[] { gasco } } }, defaultPriority = "critical",
        });
        await Wait.UntilAsync(() => Task.FromResult(_notifier.Subscribes.Count(s => s.Renewal) >= 2), TimeSpan.FromSeconds(20), () => Silo!.Output);

        // The answer to an applied event is lost with the connection: the notifier sends it again after the reconnect, and it is
        // answered again — from the event's row, not applied twice.
        _notifier.LoseNextAnswer = true;
        var lost = await _notifier.SendEventAsync(Another("crash-geodetic.json", "lost-answer"));
        Assert.Equal(200, (await AnswerAsync(lost)).StatusCode);
        Assert.True(_notifier.Connections >= 2);

        // Dropped while idle; an event sent meanwhile waits at the notifier and arrives after the reconnect.
        _notifier.Drop();
        var whileDown = await _notifier.SendEventAsync(Another("crash-geodetic.json", "while-down"));
        Assert.Equal(200, (await AnswerAsync(whileDown)).StatusCode);

        // Terminated by the notifier: answered, and subscribed again.
        var subscribes = _notifier.Subscribes.Count(s => !s.Renewal);
        await _notifier.TerminateAsync();
        await Wait.UntilAsync(() => Task.FromResult(_notifier.TerminateResponses.Count == 1 && _notifier.Subscribes.Count(s => !s.Renewal) > subscribes && _notifier.Subscribed),
            TimeSpan.FromSeconds(20), () => Silo!.Output);
        Assert.Equal(200, _notifier.TerminateResponses.Single()["statusCode"]!.GetValue<int>());
        var afterTerminate = await _notifier.SendEventAsync(Another("crash-geodetic.json", "after-terminate"));
        Assert.Equal(200, (await AnswerAsync(afterTerminate)).StatusCode);

        // A message over the subscriber's limit, and one that is not JSON: each answered by the transactionId in it, and the stream
        // goes on (dropping the connection instead would only bring them back, again and again).
        var huge = Another("crash-geodetic.json", "huge");
        huge["notesComponent"] = new JsonArray(new JsonObject { ["$id"] = "n", ["notesActionComments"] = new string('x', 100_000) });
        var tooLarge = await AnswerAsync(await _notifier.SendEventAsync(huge));
        Assert.Equal(413, tooLarge.StatusCode);
        await _notifier.SendRawAsync("""{"event": {"transactionId": "broken-1", "notification": [{"$id": """);
        Assert.Equal(400, (await AnswerAsync("broken-1")).StatusCode);

        // The silo holding the subscription is killed; the other one takes it up, and an event sent meanwhile is not lost.
        await using var second = await StartSiloProcessAsync(WorldSiloSettings());
        var connections = _notifier.Connections;
        await Silo!.KillAsync();
        var afterKill = await _notifier.SendEventAsync(Another("crash-geodetic.json", "after-kill"));
        Assert.Equal(200, (await AnswerAsync(afterKill, 90)).StatusCode);
        Assert.True(_notifier.Connections > connections);

        await using var c = new NpgsqlConnection(ConnectionString);
        // Each raised by its incident's grain once the event is answered (the last one's a moment after its answer).
        await Wait.UntilAsync(async () => await c.ExecuteScalarAsync<int>("select count(*) from incident_inbox") == 0, TimeSpan.FromSeconds(30),
            () => Silo!.Output);
        Assert.Equal(4, await c.ExecuteScalarAsync<int>("select count(*) from eido_events where eido_subscription_id = @id", new { id }));
        // Inserted and linked to its incident (version 2); an EIDO applied a second time would have updated its call again.
        Assert.Equal(4, await c.ExecuteScalarAsync<int>("select count(*) from cfs_incidents where eido_subscription_id = @id and version = 2", new { id }));
        Assert.Equal(4, await c.ExecuteScalarAsync<int>("select count(*) from incidents")); // each raised once
        Assert.Equal(4, await c.ExecuteScalarAsync<int>("select count(*) from incident_agencies"));
        Assert.Equal(0, _notifier.Unanswered);
    }
}
