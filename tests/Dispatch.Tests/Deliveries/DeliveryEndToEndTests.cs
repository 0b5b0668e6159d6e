using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using Dispatch.Grains.Transports.Webhook;
using Dispatch.Tests.Infrastructure;
using Npgsql;

namespace Dispatch.Tests.Deliveries;

[Trait("Tier", "Full")] // real processes: a Silo, the Api or the AppHost
public sealed class DeliveryEndToEndTests : DeliveryWorld
{
    private const string HookSecret = "gasco-webhook-secret-0123456789";

    [Fact]
    public async Task An_incident_for_two_companies_yields_exactly_the_expected_emails_and_webhooks()
    {
        var (gasco, gascoAdmin, _) = await OnboardCompanyAsync("gasco");
        var (towco, _, _) = await OnboardCompanyAsync("towco");
        var email = await ChannelAsync(gasco, "email", "ops email", "{}");
        var hook = await ChannelAsync(gasco, "webhook", "dispatch hook", $$"""{"url":"{{Webhooks.Url}}","secret":"{{HookSecret}}"}""");
        await RuleAsync(gasco, email, ["irod", "critical"]);
        await RuleAsync(gasco, hook, null);
        var responder = await ResponderAsync(gasco, "rita@gasco.example");
        await PreferenceAsync(responder, email, 1, "all", """{"to":"rita.personal@home.example"}""");
        var towEmail = await ChannelAsync(towco, "email", "tow email", "{}");
        await RuleAsync(towco, towEmail, ["routine_special"]); // nothing matches a critical incident

        var id = await RaiseAsync("critical", gasco, towco);
        await Wait.UntilAsync(async () => Deliveries(await IncidentAsync(id)).All(d => d["sendStatus"]!.GetValue<string>() == "sent"),
            TimeSpan.FromSeconds(60), () => Silo!.Output);
        await Wait.UntilAsync(() => Task.FromResult(Smtp.Messages().Count >= 2), TimeSpan.FromSeconds(10));

        var incident = await IncidentAsync(id);
        var companies = incident["companies"]!.AsArray();
        var gascoView = companies.Single(c => c!["agencyId"]!.GetValue<Guid>() == gasco)!;
        var towcoView = companies.Single(c => c!["agencyId"]!.GetValue<Guid>() == towco)!;
        // The admin has no preferences: email to their login address and the company webhook. Rita prefers her own address.
        Assert.Equal(2, gascoView["notifications"]!.AsArray().Count);
        Assert.Equal(3, Deliveries(incident).Count());
        Assert.True(towcoView["noRecipients"]!.GetValue<bool>());
        Assert.Empty(towcoView["notifications"]!.AsArray());

        var mails = Smtp.Messages();
        Assert.Equal(new[] { gascoAdmin, "rita.personal@home.example" }.Order(), mails.Select(m => m.ToAddress).Order());
        Assert.All(mails, m => Assert.Equal("[CRITICAL] Gas smell at school", m.Subject));
        Assert.All(mails, m => Assert.Contains("Address: 12 Elm Street\nStrong odour reported by staff", m.Decoded));
        var sentIds = Deliveries(incident).Select(d => d["externalMessageId"]?.GetValue<string>()).ToList();
        Assert.All(mails, m => Assert.Contains(m.MessageId, sentIds));

        var webhook = Assert.Single(Webhooks.Requests);
        Assert.Equal("v1=" + WebhookTransport.Sign(HookSecret, webhook.Timestamp, webhook.Body), webhook.Signature);
        using var payload = JsonDocument.Parse(webhook.Body);
        Assert.Equal(id, payload.RootElement.GetProperty("incident").GetProperty("id").GetGuid());
        Assert.Equal(gascoAdmin, payload.RootElement.GetProperty("recipient").GetProperty("email").GetString());

        await using var c = new NpgsqlConnection(ConnectionString);
        var log = (await c.QueryAsync<(string Type, string Snapshot)>(
            "select communication_type, payload_snapshot::text from incident_communications where incident_id = @id", new { id })).ToList();
        Assert.Equal(3, log.Count(l => l.Type == "notification"));
        Assert.Single(log, l => l.Type == "no_recipients");
        Assert.All(log, l => Assert.DoesNotContain(HookSecret, l.Snapshot));
    }

    [Fact]
    public async Task A_transport_that_stays_down_is_retried_with_backoff_then_dead_lettered_visibly()
    {
        var (gasco, _, _) = await OnboardCompanyAsync("gasco");
        await ChannelAsync(gasco, "webhook", "dispatch hook", $$"""{"url":"{{Webhooks.Url}}","secret":"{{HookSecret}}"}""");
        Webhooks.StatusCode = 503;

        var id = await RaiseAsync("irod", gasco);
        await Wait.UntilAsync(async () => Deliveries(await IncidentAsync(id)).All(d => d["sendStatus"]!.GetValue<string>() == "dead_lettered"),
            TimeSpan.FromSeconds(60), () => Silo!.Output);

        var delivery = Deliveries(await IncidentAsync(id)).Single();
        Assert.Equal(3, delivery["attemptCount"]!.GetValue<int>());
        Assert.Contains("503", delivery["lastError"]!.GetValue<string>());
        Assert.Equal(3, Webhooks.Requests.Count);
        Assert.Single(Webhooks.Requests.Select(r => r.IdempotencyKey).Distinct());
        await using var c = new NpgsqlConnection(ConnectionString);
        Assert.Equal(1, await c.ExecuteScalarAsync<int>(
            "select count(*) from incident_communications where incident_id = @id and communication_type = 'psap_alert'", new { id }));
        Assert.Equal(3, await c.ExecuteScalarAsync<int>(
            "select count(*) from incident_communications where incident_id = @id and communication_type = 'delivery_failure'", new { id }));
    }

    [Fact]
    public async Task A_receiver_that_takes_ten_seconds_to_answer_holds_up_no_one_elses_delivery()
    {
        await using var slow = await WebhookReceiver.StartAsync();
        slow.Delay = TimeSpan.FromSeconds(10);
        var (slowco, _, _) = await OnboardCompanyAsync("slowco");
        await ChannelAsync(slowco, "webhook", "slow hook", $$"""{"url":"{{slow.Url}}","secret":"{{HookSecret}}"}""");
        var (gasco, _, _) = await OnboardCompanyAsync("gasco");
        await ChannelAsync(gasco, "webhook", "gas hook", $$"""{"url":"{{Webhooks.Url}}","secret":"{{HookSecret}}"}""");

        for (var i = 0; i < 3; i++) await RaiseAsync("critical", slowco);
        await Wait.UntilAsync(() => Task.FromResult(slow.Arrived == 3), TimeSpan.FromSeconds(30), () => Silo!.Output);
        await RaiseAsync("critical", gasco);

        await Wait.UntilAsync(() => Task.FromResult(!Webhooks.Requests.IsEmpty), TimeSpan.FromSeconds(30), () => Silo!.Output);
        Assert.Empty(slow.Requests); // gasco's message arrived while all three slow requests were still unanswered
    }

    [Fact]
    public async Task A_failover_preference_tries_the_next_channel_only_when_the_first_fails()
    {
        var (gasco, _, _) = await OnboardCompanyAsync("gasco");
        var hook = await ChannelAsync(gasco, "webhook", "broken hook", """{"url":"http://127.0.0.1:9/nothing-listens","secret":"0123456789abcdef0123"}""");
        var email = await ChannelAsync(gasco, "email", "ops email", "{}");
        var responder = await ResponderAsync(gasco, "fay@gasco.example");
        await PreferenceAsync(responder, hook, 1, "failover");
        await PreferenceAsync(responder, email, 2, "failover");

        var id = await RaiseAsync("dangerous", gasco);
        await Wait.UntilAsync(() => Task.FromResult(Smtp.Messages().Any(m => m.ToAddress == "fay@gasco.example")), TimeSpan.FromSeconds(60),
            () => Silo!.Output);

        var fay = await SettledDeliveriesAsync(id, responder);
        Assert.Equal(["dead_lettered", "sent"], fay.Select(d => d!["sendStatus"]!.GetValue<string>()));
    }

    [Fact]
    public async Task The_emailed_link_acknowledges_only_through_its_confirmation_page_and_only_once()
    {
        var (gasco, gascoAdmin, _) = await OnboardCompanyAsync("gasco");
        await ChannelAsync(gasco, "email", "ops email", "{}");
        var id = await RaiseAsync("irod", gasco);
        await Wait.UntilAsync(() => Task.FromResult(Smtp.Messages().Count == 1), TimeSpan.FromSeconds(60), () => Silo!.Output);
        var raw = Smtp.Messages()[0].Decoded;
        var link = System.Text.RegularExpressions.Regex.Match(raw, @"http://127\.0\.0\.1:\d+/hooks/email/ack\?[^\s""<]+").Value.Replace("&amp;", "&");

        using var page = await Anonymous.GetAsync(link);
        var html = await page.Content.ReadAsStringAsync();
        var afterLook = await IncidentAsync(id);
        var form = System.Text.RegularExpressions.Regex.Matches(html, @"name=""(\w)"" value=""([^""]*)""")
            .ToDictionary(m => m.Groups[1].Value, m => System.Net.WebUtility.HtmlDecode(m.Groups[2].Value));
        using var confirm = await Anonymous.PostAsync("/hooks/email/ack", new FormUrlEncodedContent(form));
        using var again = await Anonymous.PostAsync("/hooks/email/ack", new FormUrlEncodedContent(form));
        form["n"] = Guid.NewGuid().ToString("N");
        using var forged = await Anonymous.PostAsync("/hooks/email/ack", new FormUrlEncodedContent(form));
        var afterAck = await IncidentAsync(id);

        Assert.True(page.StatusCode == System.Net.HttpStatusCode.OK, link + "\n" + html);
        Assert.Contains("Gas smell at school", html);
        Assert.Equal("open", afterLook["incident"]!["status"]!.GetValue<string>()); // looking is not acknowledging
        Assert.Contains("Acknowledged. Thank you.", await confirm.Content.ReadAsStringAsync());
        Assert.Contains("Already acknowledged", await again.Content.ReadAsStringAsync());
        Assert.Equal(System.Net.HttpStatusCode.NotFound, forged.StatusCode);
        Assert.Equal("acknowledged", afterAck["incident"]!["status"]!.GetValue<string>());
        var notification = afterAck["companies"]![0]!["notifications"]![0]!;
        Assert.Equal(("acked", "email_link"), (notification["ackStatus"]!.GetValue<string>(), notification["ackSource"]!.GetValue<string>()));
        Assert.True(afterAck["companies"]![0]!["acknowledged"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Each_delivery_carries_the_trace_of_the_request_that_created_it()
    {
        var (gasco, _, _) = await OnboardCompanyAsync("gasco");
        await ChannelAsync(gasco, "email", "ops email", "{}");
        var traceId = System.Diagnostics.ActivityTraceId.CreateRandom().ToHexString();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/incidents")
        {
            Content = JsonContent.Create(new { priority = "critical", title = "Traced", agencyIds = new[] { gasco } }),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{System.Diagnostics.ActivitySpanId.CreateRandom().ToHexString()}-01");

        using var response = await Admin.SendAsync(request);

        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        await using var c = new NpgsqlConnection(ConnectionString);
        var stored = await c.QueryAsync<string>("select trace_parent from notification_deliveries");
        Assert.All(stored, t => Assert.Matches($"^00-{traceId}-[0-9a-f]{{16}}-0[01]$", t));
        Assert.NotEmpty(stored);
    }
}
