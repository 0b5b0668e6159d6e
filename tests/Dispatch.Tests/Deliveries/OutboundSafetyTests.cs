using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.Configuration;
using Dispatch.Grains.Transports;
using Dispatch.Tests.Infrastructure;

namespace Dispatch.Tests.Deliveries;

/// <summary>
/// Where an agency admin's configuration may make Dispatch send: never to internal addresses (checked when configured, and again
/// on the resolved address when sending), never echoing what a receiver answered, and never a URL's secrets in a log line.
/// </summary>
[Trait("Tier", "Full")] // real processes: a Silo, the Api or the AppHost
public sealed class OutboundSafetyTests : DeliveryWorld
{
    protected override bool RunsSilo => false;

    private async Task<(Guid Company, HttpClient Admin)> CompanyAsync()
    {
        var (company, email, password) = await OnboardCompanyAsync("gasco");
        return (company, As("Bearer " + (await LoginAsync(email, password)).AccessToken));
    }

    [Fact]
    public async Task Without_an_allow_list_the_api_refuses_internal_webhooks_overrides_and_callbacks()
    {
        await using var production = new ApiHost(this, new Dictionary<string, string?>
        {
            [$"{OutboundPolicy.Section}:AllowedNetworks"] = "", ["Dispatch:PublicUrl"] = "https://dispatch.metro911.example",
        }); // and its own silo, with the same settings
        production.StartServer();
        using (var anonymous = production.CreateClient()) await production.WaitConnectedAsync(anonymous);
        var (_, email, password) = await OnboardCompanyAsync("gasco");
        HttpClient Client(string token)
        {
            var client = production.CreateClient();
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            return client;
        }
        using var company = Client((await LoginAsync(email, password)).AccessToken);
        using var psap = Client((await LoginAsync()).AccessToken);
        object Webhook(string url) => new { transportType = "webhook", name = "ops", config = new { url, secret = "a-very-long-signing-secret" } };

        var metadata = await SendAsync(company, HttpMethod.Post, "/api/v1/transport-channels", Webhook("http://169.254.169.254/latest/meta-data/"));
        var loopback = await SendAsync(company, HttpMethod.Post, "/api/v1/transport-channels", Webhook("http://127.0.0.1:5080/api/v1/users"));
        var itself = await SendAsync(company, HttpMethod.Post, "/api/v1/transport-channels", Webhook("https://dispatch.metro911.example/api/v1/users"));
        var smtp = await SendAsync(company, HttpMethod.Post, "/api/v1/transport-channels",
            new { transportType = "email", name = "relay", config = new { smtpHost = "10.0.0.25" } });
        var fine = await SendAsync(company, HttpMethod.Post, "/api/v1/transport-channels", Webhook("https://93.184.216.34/hook"));
        var updated = await SendAsync(company, HttpMethod.Patch, $"/api/v1/transport-channels/{fine.Body?["id"]}",
            new { config = new { url = "http://192.168.0.1/hook", secret = "[redacted]" } });
        var me = (await SendAsync(company, HttpMethod.Get, "/api/v1/users")).Body!["items"]![0]!["id"]!.GetValue<Guid>();
        var personal = await SendAsync(company, HttpMethod.Put, $"/api/v1/users/{me}/transport-preferences",
            new { preferences = new[] { new { transportChannelId = fine.Body?["id"], configOverride = new { url = "http://[::1]:8080/mine" } } } });
        var callback = await SendAsync(psap, HttpMethod.Post, "/api/v1/command-connections",
            new { name = "CAD", ackMode = "callback", publicUrl = "https://127.0.0.1/acks" });

        foreach (var (answer, field) in new[] { (metadata, "config.url"), (loopback, "config.url"), (itself, "config.url"), (smtp, "config.smtpHost"),
                     (updated, "config.url"), (personal, "preferences[0].configOverride.url"), (callback, "publicUrl") })
        {
            Assert.True(answer.Status == HttpStatusCode.BadRequest, answer.Body?.ToJsonString());
            Assert.Contains("refused", answer.Body!["errors"]![field]![0]!.GetValue<string>());
        }
        Assert.Equal(HttpStatusCode.Created, fine.Status);
    }

    [Fact]
    public async Task A_silo_without_an_allow_list_refuses_at_send_time_and_records_no_answer_from_inside()
    {
        // The Api here (Development) accepts the loopback receiver; the Silo, configured as production, checks the resolved address itself.
        await using var silo = await StartSiloProcessAsync(new Dictionary<string, string?>(SiloSettings) { [$"{OutboundPolicy.Section}:AllowedNetworks"] = "" });
        var (company, admin) = await CompanyAsync();
        using (admin)
        {
            var channel = await SendAsync(admin, HttpMethod.Post, "/api/v1/transport-channels",
                new { transportType = "webhook", name = "ops", config = new { url = Webhooks.Url.ToString(), secret = "a-very-long-signing-secret" } });
            Assert.Equal(HttpStatusCode.Created, channel.Status);
        }
        var id = await RaiseAsync("critical", company);

        await Wait.UntilAsync(async () => Deliveries(await IncidentAsync(id)).Any(d => d["sendStatus"]!.GetValue<string>() == "failed"),
            TimeSpan.FromSeconds(30), () => silo.Output);
        var delivery = Deliveries(await IncidentAsync(id)).Single();
        Assert.StartsWith("Destination refused", delivery["lastError"]!.GetValue<string>());
        Assert.Equal(1, delivery["attemptCount"]!.GetValue<int>()); // permanent: not retried
        Assert.Empty(Webhooks.Requests);
    }

    [Fact]
    public async Task A_receivers_answer_is_not_echoed_and_no_log_line_holds_a_url_secret_or_personal_data()
    {
        await using var silo = await StartSiloProcessAsync(new Dictionary<string, string?>(SiloSettings)
        {
            ["Logging:LogLevel:Default"] = "Trace", ["Logging:LogLevel:Microsoft"] = "Trace", ["Logging:LogLevel:System"] = "Trace",
            ["Logging:LogLevel:Orleans"] = "Information", // Orleans' own trace is cluster chatter, and slow enough to stall the test
            ["Dispatch:PublicUrl"] = Anonymous.BaseAddress!.ToString(),
        });
        var (company, admin) = await CompanyAsync();
        const string channelToken = "chan-token-7f3a9c", pathToken = "path-token-51be0d", overrideToken = "override-token-c02e77";
        const string secret = "signing-secret-9d8e7f6a5b4c", address = "742 Evergreen Terrace, Apt 3";
        Webhooks.StatusCode = 401;
        using (admin)
        {
            var channel = await SendAsync(admin, HttpMethod.Post, "/api/v1/transport-channels", new
            {
                transportType = "webhook", name = "ops", config = new { url = $"{Webhooks.Url}?token={channelToken}", secret },
            });
            var me = (await SendAsync(admin, HttpMethod.Get, "/api/v1/users")).Body!["items"]![0]!["id"]!.GetValue<Guid>();
            var personal = await SendAsync(admin, HttpMethod.Put, $"/api/v1/users/{me}/transport-preferences", new
            {
                preferences = new[] { new { transportChannelId = channel.Body!["id"], configOverride = new { url = $"{Webhooks.Url}/{pathToken}?token={overrideToken}" } } },
            });
            Assert.Equal(HttpStatusCode.OK, personal.Status);
        }
        using var response = await Admin.PostAsJsonAsync("/api/v1/incidents",
            new { priority = "critical", title = "Water main break", address, agencyIds = new[] { company } });
        var id = (await response.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>())!["incident"]!["id"]!.GetValue<Guid>();

        await Wait.UntilAsync(async () => Deliveries(await IncidentAsync(id)).Any(d => d["sendStatus"]!.GetValue<string>() == "failed"),
            TimeSpan.FromSeconds(30), () => silo.Output);
        var delivery = Deliveries(await IncidentAsync(id)).Single();
        Assert.Equal("HTTP 401 from the receiver at 127.0.0.1", delivery["lastError"]!.GetValue<string>());
        Assert.NotEmpty(Webhooks.Requests); // it was really sent, over the personal URL

        // The Silo logs the failure just after committing it, so the log line may trail the record by a moment.
        await Wait.UntilAsync(() => Task.FromResult(silo.Output.Contains($"Delivery {delivery["id"]!.GetValue<Guid>()} attempt 1")), TimeSpan.FromSeconds(10), () => silo.Output);
        var logs = silo.Output + string.Join('\n', Api.Logs.Lines);
        foreach (var leak in new[] { channelToken, pathToken, overrideToken, secret, address, "?token=", AdminPassword, "a long company password" })
            Assert.DoesNotContain(leak, logs);
    }
}
