using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Dispatch.Tests.Infrastructure;
using Npgsql;

namespace Dispatch.Tests.Deliveries;

public sealed class TransportConfigurationApiTests : IdentityHost
{
    [Fact]
    public async Task A_company_admin_configures_channels_and_rules_with_validation_and_secrets_never_come_back()
    {
        var (_, email, password) = await OnboardCompanyAsync("gasco");
        using var admin = As("Bearer " + (await LoginAsync(email, password)).AccessToken);

        var types = await SendAsync(admin, HttpMethod.Get, "/api/v1/transport-types");
        var badConfig = await SendAsync(admin, HttpMethod.Post, "/api/v1/transport-channels",
            new { transportType = "webhook", name = "hook", config = new { url = "not a url", secret = "short", colour = "red" } });
        var created = await SendAsync(admin, HttpMethod.Post, "/api/v1/transport-channels",
            new { transportType = "webhook", name = "hook", config = new { url = "https://ops.gasco.example/dispatch", secret = "a-very-long-signing-secret" } });
        var id = created.Body!["id"]!.GetValue<Guid>();
        var renamed = await SendAsync(admin, HttpMethod.Patch, $"/api/v1/transport-channels/{id}",
            new { name = "ops hook", config = new { url = "https://ops2.gasco.example/dispatch", secret = "[redacted]" } });
        var badWindow = await SendAsync(admin, HttpMethod.Post, "/api/v1/notification-rules",
            new { transportChannelId = id, priorityFilter = new[] { "urgent" }, timeStart = "22:00" });
        var rule = await SendAsync(admin, HttpMethod.Post, "/api/v1/notification-rules",
            new { transportChannelId = id, priorityFilter = new[] { "irod" }, timeStart = "22:00", timeEnd = "06:00" });

        Assert.Equal(["email", "sms", "telegram", "voice", "webhook"], types.Body!["items"]!.AsArray().Select(t => t!["slug"]!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.BadRequest, badConfig.Status);
        Assert.True(badConfig.Body!["errors"]!.AsObject().Count >= 2, badConfig.Body.ToJsonString());
        Assert.Equal(HttpStatusCode.Created, created.Status);
        Assert.Equal("[redacted]", created.Body["config"]!["secret"]!.GetValue<string>());
        Assert.Equal(("ops hook", "https://ops2.gasco.example/dispatch"),
            (renamed.Body!["name"]!.GetValue<string>(), renamed.Body["config"]!["url"]!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.BadRequest, badWindow.Status);
        Assert.Equal(new[] { "priorityFilter", "timeEnd" }, badWindow.Body!["errors"]!.AsObject().Select(e => e.Key).Order());
        Assert.Equal(HttpStatusCode.Created, rule.Status);

        await using var c = new NpgsqlConnection(ConnectionString);
        var stored = await c.ExecuteScalarAsync<string>("select config::text from transport_channels where id = @id", new { id });
        Assert.DoesNotContain("a-very-long-signing-secret", stored);
        var audit = string.Join('\n', await c.QueryAsync<string>("select coalesce(before::text,'') || coalesce(after::text,'') from audit_logs"));
        Assert.DoesNotContain("a-very-long-signing-secret", audit);

        // A Twilio account's auth token is a secret like a webhook's; a voice channel is configured like a text channel.
        var voiceSchema = types.Body["items"]!.AsArray().Single(t => t!["slug"]!.GetValue<string>() == "voice")!;
        Assert.True(voiceSchema["supportsInboundAck"]!.GetValue<bool>());
        Assert.Equal("string", voiceSchema["configSchema"]!["properties"]!["phone"]!["type"]!.GetValue<string>());
        var sms = await SendAsync(admin, HttpMethod.Post, "/api/v1/transport-channels", new
        {
            transportType = "sms", name = "texts",
            config = new { accountSid = "AC0123456789abcdef0123456789abcdef", authToken = "twilio-token-never-shown", from = "+15550001111" },
        });
        Assert.Equal(HttpStatusCode.Created, sms.Status);
        Assert.Equal("[redacted]", sms.Body!["config"]!["authToken"]!.GetValue<string>());
        Assert.Equal("AC0123456789abcdef0123456789abcdef", sms.Body["config"]!["accountSid"]!.GetValue<string>());
        var badVoice = await SendAsync(admin, HttpMethod.Post, "/api/v1/transport-channels",
            new { transportType = "voice", name = "calls", config = new { from = "555-0100", accountSid = "AC0123456789abcdef0123456789abcdef" } });
        Assert.Equal(HttpStatusCode.BadRequest, badVoice.Status);
        Assert.Equal(["config.authToken", "config.from"], badVoice.Body!["errors"]!.AsObject().Select(e => e.Key).Order());
        Assert.DoesNotContain("twilio-token-never-shown", await c.ExecuteScalarAsync<string>("select string_agg(config::text, '') from transport_channels"));
    }

    [Fact]
    public async Task A_responder_sets_their_own_preferences_but_nobody_elses()
    {
        var (_, email, password) = await OnboardCompanyAsync("gasco");
        using var admin = As("Bearer " + (await LoginAsync(email, password)).AccessToken);
        var channel = (await SendAsync(admin, HttpMethod.Post, "/api/v1/transport-channels", new { transportType = "email", name = "mail", config = new { } }))
            .Body!["id"]!.GetValue<Guid>();
        var roles = (await SendAsync(admin, HttpMethod.Get, "/api/v1/roles")).Body!["items"]!.AsArray();
        var responderRole = roles.First(r => r!["slug"]!.GetValue<string>() == "company-responder")!["id"]!.GetValue<Guid>();
        var users = new List<Guid>();
        foreach (var who in new[] { "rita", "sam" })
            users.Add((await SendAsync(admin, HttpMethod.Post, "/api/v1/users",
                new { email = $"{who}@gasco.example", password = "responding to calls", firstName = who, lastName = "R", roleId = responderRole })).Body!["id"]!.GetValue<Guid>());
        using var rita = As("Bearer " + (await LoginAsync("rita@gasco.example", "responding to calls")).AccessToken);

        var wrongOverride = await SendAsync(rita, HttpMethod.Put, $"/api/v1/users/{users[0]}/transport-preferences",
            new { preferences = new[] { new { transportChannelId = channel, configOverride = new { to = "not-an-email" } } } });
        var own = await SendAsync(rita, HttpMethod.Put, $"/api/v1/users/{users[0]}/transport-preferences",
            new { preferences = new[] { new { transportChannelId = channel, deliveryMode = "all", configOverride = new { to = "rita@home.example" } } } });
        var others = await SendAsync(rita, HttpMethod.Put, $"/api/v1/users/{users[1]}/transport-preferences",
            new { preferences = Array.Empty<object>() });
        var unknownChannel = await SendAsync(rita, HttpMethod.Put, $"/api/v1/users/{users[0]}/transport-preferences",
            new { preferences = new[] { new { transportChannelId = Guid.NewGuid() } } });

        Assert.Equal(HttpStatusCode.BadRequest, wrongOverride.Status);
        Assert.Equal(HttpStatusCode.OK, own.Status);
        Assert.Equal("rita@home.example", own.Body![0]!["configOverride"]!["to"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, others.Status);
        Assert.Equal(HttpStatusCode.BadRequest, unknownChannel.Status);
    }
}
