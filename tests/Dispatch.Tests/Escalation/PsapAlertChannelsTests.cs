using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using Dispatch.Tests.Deliveries;
using Npgsql;

namespace Dispatch.Tests.Escalation;

/// <summary>"The PSAP knows when a company is silent", set up through the API alone: the PSAP admin gives their own people a channel.</summary>
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
        await Infrastructure.Wait.UntilAsync(() => Task.FromResult(Recipients().Contains(email)), TimeSpan.FromSeconds(30), () => Silo!.Output);
        Assert.DoesNotContain(AdminEmail, Recipients()); // nobody told the PSAP anything yet

        // Nobody at gasco acknowledges: the first (and last) tier's deadline passes.
        await using (var c = new NpgsqlConnection(ConnectionString))
        {
            await c.ExecuteAsync("update notifications set escalation_due_at = now() where incident_id = @id and escalation_due_at is not null", new { id });
        }
        await Infrastructure.Wait.UntilAsync(() => Task.FromResult(Recipients().Contains(AdminEmail)), TimeSpan.FromSeconds(30), () => Silo!.Output);

        var alert = Webhooks.Requests.Select(r => JsonNode.Parse(r.Body)!).First(b => b["recipient"]!["email"]!.GetValue<string>() == AdminEmail);
        Assert.Equal(id, alert["incident"]!["id"]!.GetValue<Guid>());
        var incident = await IncidentAsync(id);
        var psapAlert = Assert.Single(incident["psapAlerts"]!.AsArray())!;
        Assert.Equal(psapAdmin, psapAlert["notifiedUserId"]!.GetValue<Guid>());
        Assert.Equal(psapChannel.Body!["id"]!.GetValue<Guid>(), psapAlert["deliveries"]![0]!["transportChannelId"]!.GetValue<Guid>());
        var log = (await SendAsync(Admin, HttpMethod.Get, $"/api/v1/incidents/{id}/communications?pageSize=200")).Body!["items"]!.AsArray()
            .Select(e => e!["communicationType"]!.GetValue<string>()).ToList();
        Assert.Contains("escalation_exhausted", log);
    }
}
