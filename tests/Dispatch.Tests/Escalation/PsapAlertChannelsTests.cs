using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using Dispatch.Tests.Deliveries;
using Npgsql;

namespace Dispatch.Tests.Escalation;

/// <summary>"The PSAP knows when a company is silent", set up through the API alone: the PSAP admin gives their own people a channel.</summary>
[Trait("Tier", "Full")] // real processes: a Silo, the Api or the AppHost
public sealed class PsapAlertChannelsTests : DeliveryWorld
{
    [Fact]
    public async Task A_psap_user_with_a_webhook_channel_set_up_through_the_api_receives_the_alert_after_the_last_tier()
    {
        var me = (await SendAsync(Admin, HttpMethod.Get, "/api/v1/users")).Body!["items"]![0]!;
        var psapAdmin = me["id"]!.GetValue<Guid>();

        // The PSAP's own channel and the admin's preference for it.
        var psapChannel = await SendAsync(Admin, HttpMethod.Post, "/api/v1/transport-channels",
            new { transportType = "webhook", name = "PSAP floor", config = new { url = Webhooks.Url + "?who=psap", secret = "psap-floor-signing-secret" } });
        var preference = await SendAsync(Admin, HttpMethod.Put, $"/api/v1/users/{psapAdmin}/transport-preferences",
            new { preferences = new[] { new { transportChannelId = psapChannel.Body?["id"]?.GetValue<Guid>() } } });
        var psapRule = await SendAsync(Admin, HttpMethod.Post, "/api/v1/notification-rules",
            new { transportChannelId = psapChannel.Body?["id"]?.GetValue<Guid>(), priorityFilter = new[] { "irod", "critical" } });

        // A company with one tier (its admins) whose rule names the PSAP admin.
        var (gasco, email, password) = await OnboardCompanyAsync("gasco");
        using var gascoAdmin = As("Bearer " + (await LoginAsync(email, password)).AccessToken);
        var gascoChannel = await SendAsync(gascoAdmin, HttpMethod.Post, "/api/v1/transport-channels",
            new { transportType = "webhook", name = "gasco ops", config = new { url = Webhooks.Url + "?who=gasco", secret = "gasco-ops-signing-secret" } });
        var rule = await SendAsync(gascoAdmin, HttpMethod.Post, "/api/v1/escalation-rules", new
        {
            ackTimeoutSeconds = 30, repeatCount = 0, escalationOrder = new[] { new { roleSlugs = new[] { "company-admin" } } },
            notifyPsapUserIds = new[] { psapAdmin },
        });
        Assert.Equal([HttpStatusCode.Created, HttpStatusCode.OK, HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.Created],
            new[] { psapChannel.Status, preference.Status, psapRule.Status, gascoChannel.Status, rule.Status });

        var id = await RaiseAsync("critical", gasco);
        string[] Recipients() => Webhooks.Requests.Select(r => JsonNode.Parse(r.Body)!["recipient"]!["email"]!.GetValue<string>()).Distinct().ToArray();
        await Wait.UntilAsync(() => Task.FromResult(Recipients().Contains(email)), TimeSpan.FromSeconds(30), () => Silo!.Output);
        Assert.DoesNotContain(AdminEmail, Recipients()); // nobody told the PSAP anything yet

        // Nobody at gasco acknowledges: the first (and last) tier's deadline passes.
        await MoveDeadlinesAsync(0, "incident_id = @id", new { id });
        await Wait.UntilAsync(() => Task.FromResult(Recipients().Contains(AdminEmail)), TimeSpan.FromSeconds(30), () => Silo!.Output);

        var alert = Webhooks.Requests.Select(r => JsonNode.Parse(r.Body)!).First(b => b["recipient"]!["email"]!.GetValue<string>() == AdminEmail);
        Assert.Equal(id, alert["incident"]!["id"]!.GetValue<Guid>());
        Assert.Equal("psap_alert", alert["kind"]!.GetValue<string>());
        Assert.Equal("gasco", alert["alert"]!["companyName"]!.GetValue<string>());
        Assert.Equal("not_acknowledged", alert["alert"]!["reason"]!.GetValue<string>());
        var contact = Assert.Single(alert["alert"]!["contacts"]!.AsArray())!;
        Assert.Equal(email, contact["email"]!.GetValue<string>());
        Assert.Equal("gasco ops", contact["channels"]![0]!["channel"]!.GetValue<string>());
        var incident = await IncidentAsync(id);
        var psapAlert = Assert.Single(incident["psapAlerts"]!.AsArray())!;
        Assert.Equal(psapAdmin, psapAlert["notifiedUserId"]!.GetValue<Guid>());
        Assert.Equal(psapChannel.Body!["id"]!.GetValue<Guid>(), psapAlert["deliveries"]![0]!["transportChannelId"]!.GetValue<Guid>());
        var log = (await SendAsync(Admin, HttpMethod.Get, $"/api/v1/incidents/{id}/communications?pageSize=200")).Body!["items"]!.AsArray()
            .Select(e => e!["communicationType"]!.GetValue<string>()).ToList();
        Assert.Contains("escalation_exhausted", log);
    }

    [Fact]
    public async Task The_psap_alert_email_names_the_silent_company_and_its_people_and_its_link_records_only_that_the_alert_was_seen()
    {
        var psapAdmin = (await SendAsync(Admin, HttpMethod.Get, "/api/v1/users")).Body!["items"]![0]!["id"]!.GetValue<Guid>();
        var psapChannel = (await SendAsync(Admin, HttpMethod.Post, "/api/v1/transport-channels",
            new { transportType = "email", name = "PSAP floor", config = new { } })).Body!["id"]!.GetValue<Guid>();
        await SendAsync(Admin, HttpMethod.Put, $"/api/v1/users/{psapAdmin}/transport-preferences",
            new { preferences = new[] { new { transportChannelId = psapChannel } } });
        var (gasco, email, password) = await OnboardCompanyAsync("gasco");
        using var gascoAdmin = As("Bearer " + (await LoginAsync(email, password)).AccessToken);
        await SendAsync(gascoAdmin, HttpMethod.Post, "/api/v1/transport-channels", new { transportType = "email", name = "gasco on-call", config = new { } });
        var rule = await SendAsync(gascoAdmin, HttpMethod.Post, "/api/v1/escalation-rules", new
        {
            ackTimeoutSeconds = 30, repeatCount = 0, escalationOrder = new[] { new { roleSlugs = new[] { "company-admin" } } },
            notifyPsapUserIds = new[] { psapAdmin },
        });
        Assert.Equal(HttpStatusCode.Created, rule.Status);

        var id = await RaiseAsync("critical", gasco);
        await Wait.UntilAsync(() => Task.FromResult(Smtp.Messages().Any(m => m.ToAddress == email)), TimeSpan.FromSeconds(30), () => Silo!.Output);
        await MoveDeadlinesAsync(0, "incident_id = @id", new { id });
        await Wait.UntilAsync(() => Task.FromResult(Smtp.Messages().Any(m => m.ToAddress == AdminEmail)), TimeSpan.FromSeconds(30), () => Silo!.Output);

        var mail = Smtp.Messages().Single(m => m.ToAddress == AdminEmail);
        Assert.Contains("PSAP ALERT", mail.Subject);
        Assert.Contains("gasco has not acknowledged", mail.Subject);
        var body = mail.Decoded;
        Assert.Contains("after tier 1", body);
        Assert.Contains($"Tier 1: Ada Admin <{email}> - email \"gasco on-call\": sent", body);
        Assert.DoesNotContain("your company is responding", body);

        var link = System.Text.RegularExpressions.Regex.Match(body, @"http://127\.0\.0\.1:\d+/hooks/email/ack\?[^\s""<]+").Value.Replace("&amp;", "&");
        using var page = await Anonymous.GetAsync(link);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("gasco has not acknowledged", html);
        Assert.Contains("I have seen this alert", html);
        Assert.DoesNotContain("my company is responding", html);
        var form = System.Text.RegularExpressions.Regex.Matches(html, @"name=""(\w)"" value=""([^""]*)""")
            .ToDictionary(m => m.Groups[1].Value, m => System.Net.WebUtility.HtmlDecode(m.Groups[2].Value));
        using var seen = await Anonymous.PostAsync("/hooks/email/ack", new FormUrlEncodedContent(form));
        Assert.Contains("Recorded that you have seen the alert about gasco", await seen.Content.ReadAsStringAsync());

        // Seeing the alert acknowledged nothing for gasco: the incident and the company are as they were.
        var incident = await IncidentAsync(id);
        Assert.Equal("open", incident["incident"]!["status"]!.GetValue<string>());
        Assert.False(incident["companies"]![0]!["acknowledged"]!.GetValue<bool>());
        Assert.Equal("acked", Assert.Single(incident["psapAlerts"]!.AsArray())!["ackStatus"]!.GetValue<string>());
        var log = (await SendAsync(Admin, HttpMethod.Get, $"/api/v1/incidents/{id}/communications?pageSize=200")).Body!["items"]!.AsArray()
            .Select(e => e!["communicationType"]!.GetValue<string>()).ToList();
        Assert.Contains("psap_alert_seen", log);
        Assert.DoesNotContain("acknowledgement", log);
    }
}
