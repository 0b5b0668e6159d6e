using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using Dispatch.Grains.Commands;
using Dispatch.Tests.Deliveries;
using Npgsql;

namespace Dispatch.Tests.Commands;

/// <summary>"The PSAP learns when its own CAD link has gone quiet": a command connection's heartbeat watch, end to end.</summary>
[Trait("Tier", "Full")] // real processes: a Silo, killed and started again
public sealed class HeartbeatTests : DeliveryWorld
{
    protected override Dictionary<string, string?> SiloSettings => new(base.SiloSettings) { ["Dispatch:Heartbeats:Grace"] = "00:00:01" };

    private IEnumerable<JsonNode> HeartbeatAlerts(string status) => Webhooks.Requests.Select(r => JsonNode.Parse(r.Body)!)
        .Where(b => b["kind"]?.GetValue<string>() == "heartbeat" && b["heartbeat"]!["status"]!.GetValue<string>() == status);

    [Fact]
    public async Task A_silent_cad_link_alerts_its_psap_users_once_across_a_silo_crash_and_again_when_any_call_is_heard()
    {
        // The PSAP admin is reached on the PSAP floor's webhook.
        var psapAdmin = (await SendAsync(Admin, HttpMethod.Get, "/api/v1/users")).Body!["items"]![0]!["id"]!.GetValue<Guid>();
        var floor = (await SendAsync(Admin, HttpMethod.Post, "/api/v1/transport-channels",
            new { transportType = "webhook", name = "PSAP floor", config = new { url = Webhooks.Url.ToString(), secret = "psap-floor-signing-secret" } })).Body!["id"]!.GetValue<Guid>();
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(Admin, HttpMethod.Put, $"/api/v1/users/{psapAdmin}/transport-preferences",
            new { preferences = new[] { new { transportChannelId = floor } } })).Status);
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(Admin, HttpMethod.Post, "/api/v1/notification-rules", new { transportChannelId = floor })).Status);

        // Refused at the edge: an interval too short to mean anything, a user who is not the PSAP's.
        var tooShort = await SendAsync(Admin, HttpMethod.Post, "/api/v1/command-connections", new { name = "cad", heartbeatIntervalSeconds = 2 });
        Assert.Equal(HttpStatusCode.BadRequest, tooShort.Status);
        Assert.NotNull(tooShort.Body!["errors"]!["heartbeatIntervalSeconds"]);
        var stranger = await SendAsync(Admin, HttpMethod.Post, "/api/v1/command-connections",
            new { name = "cad", heartbeatIntervalSeconds = 5, notifyPsapUserIds = new[] { Guid.NewGuid() } });
        Assert.Equal(HttpStatusCode.BadRequest, stranger.Status);
        Assert.NotNull(stranger.Body!["errors"]!["notifyPsapUserIds"]);

        var created = await SendAsync(Admin, HttpMethod.Post, "/api/v1/command-connections",
            new { name = "County CAD", heartbeatIntervalSeconds = 5, notifyPsapUserIds = new[] { psapAdmin } });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        var id = created.Body!["connection"]!["id"]!.GetValue<Guid>();
        Assert.Equal("ok", created.Body["connection"]!["heartbeatStatus"]!.GetValue<string>());
        using var cad = As("ApiKey " + created.Body["apiKey"]!.GetValue<string>());

        var beat = await SendAsync(cad, HttpMethod.Post, "/api/v1/command/heartbeat");
        Assert.Equal(HttpStatusCode.OK, beat.Status);
        Assert.Equal("ok", beat.Body!["status"]!.GetValue<string>());
        Assert.Equal(5, beat.Body["intervalSeconds"]!.GetValue<int>());
        Assert.True(beat.Body["expectedBy"]!.GetValue<DateTimeOffset>() > DateTimeOffset.UtcNow);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(Admin, HttpMethod.Post, "/api/v1/command/heartbeat")).Status); // a person is not a CAD link

        // The silo watching it dies with the watch's timer in memory; the one started after it keeps the time.
        await Silo!.KillAsync();
        await StartSiloAsync();
        await Wait.UntilAsync(() => Task.FromResult(HeartbeatAlerts("silent").Any()), TimeSpan.FromSeconds(60), () => Silo!.Output);
        var silent = HeartbeatAlerts("silent").First();
        Assert.Equal(AdminEmail, silent["recipient"]!["email"]!.GetValue<string>());
        Assert.Null(silent["incident"]);
        Assert.Null(silent["ackUrl"]); // nothing to acknowledge: it is news about the link
        Assert.Equal("County CAD", silent["heartbeat"]!["connectionName"]!.GetValue<string>());
        Assert.Contains("silent", silent["heartbeat"]!["title"]!.GetValue<string>());
        var shown = (await SendAsync(Admin, HttpMethod.Get, $"/api/v1/command-connections/{id}")).Body!;
        Assert.Equal("silent", shown["heartbeatStatus"]!.GetValue<string>());
        Assert.NotNull(shown["silentSince"]);

        // Any authenticated call of the connection is a heartbeat: an acknowledgement poll ends the outage.
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(cad, HttpMethod.Get, "/api/v1/command/acks")).Status);
        await Wait.UntilAsync(() => Task.FromResult(HeartbeatAlerts("recovered").Any()), TimeSpan.FromSeconds(30), () => Silo!.Output);
        Assert.Equal("ok", (await SendAsync(Admin, HttpMethod.Get, $"/api/v1/command-connections/{id}")).Body!["heartbeatStatus"]!.GetValue<string>());

        // Once per outage, once per recovery, whatever the crash: the rows agree with what the PSAP received.
        Assert.Single(HeartbeatAlerts("silent"));
        Assert.Single(HeartbeatAlerts("recovered"));
        await using var c = new NpgsqlConnection(ConnectionString);
        var alerts = (await c.QueryAsync<string>(
            "select alert_reason from notifications where kind = 'heartbeat' and command_connection_id = @id order by created_at", new { id })).ToList();
        Assert.Equal(["heartbeat_lost", "heartbeat_recovered"], alerts);
        var audit = (await c.QueryAsync<string>(
            "select action from audit_logs where entity_id = @id and action like 'command_connection.heartbeat%' order by created_at", new { id })).ToList();
        Assert.Equal(["command_connection.heartbeat_lost", "command_connection.heartbeat_recovered"], audit);
    }

    [Fact]
    public async Task Turning_the_watch_off_ends_it_and_a_connection_without_one_never_alerts()
    {
        var psapAdmin = (await SendAsync(Admin, HttpMethod.Get, "/api/v1/users")).Body!["items"]![0]!["id"]!.GetValue<Guid>();
        var created = await SendAsync(Admin, HttpMethod.Post, "/api/v1/command-connections",
            new { name = "cad", heartbeatIntervalSeconds = 5, notifyPsapUserIds = new[] { psapAdmin } });
        var id = created.Body!["connection"]!["id"]!.GetValue<Guid>();
        var off = await SendAsync(Admin, HttpMethod.Patch, $"/api/v1/command-connections/{id}", new { heartbeatIntervalSeconds = 0 });
        Assert.Equal(HttpStatusCode.OK, off.Status);
        Assert.Equal("off", off.Body!["heartbeatStatus"]!.GetValue<string>());
        Assert.Null(off.Body["heartbeatIntervalSeconds"]);
        using var cad = As("ApiKey " + created.Body["apiKey"]!.GetValue<string>());
        var beat = await SendAsync(cad, HttpMethod.Post, "/api/v1/command/heartbeat");
        Assert.Equal("off", beat.Body!["status"]!.GetValue<string>());
        Assert.Null(beat.Body["expectedBy"]);
    }
}

/// <summary>The watch's decisions, without a cluster.</summary>
public sealed class HeartbeatWatchTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 6, 3, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(10);

    private static HeartbeatWatch Watch(DateTimeOffset? lastSeen = null, DateTimeOffset? outage = null, int? interval = 60, bool active = true) =>
        new(Guid.NewGuid(), Guid.NewGuid(), active, interval, interval is null ? null : T0, lastSeen, outage, []);

    [Fact]
    public void Silence_is_counted_from_the_last_contact_or_from_when_the_watch_was_set_up()
    {
        Assert.Equal(T0.AddSeconds(70), Watch().DueAt(Grace));
        Assert.Equal(T0.AddSeconds(100), Watch(lastSeen: T0.AddSeconds(30)).DueAt(Grace));
        Assert.Equal(T0.AddSeconds(70), Watch(lastSeen: T0.AddSeconds(-300)).DueAt(Grace)); // heard before the watch began: it starts at set-up
        Assert.Equal(T0.AddSeconds(100), Watch().Seen(T0.AddSeconds(30)).Seen(T0.AddSeconds(10)).DueAt(Grace)); // a late stamp never moves it back
    }

    [Fact]
    public void A_declared_outage_holds_no_further_moment_and_ends_only_with_contact_after_it()
    {
        var outage = Watch(outage: T0.AddSeconds(70));
        Assert.Null(outage.DueAt(Grace)); // once per outage: nothing more to fire until it is heard from
        Assert.False(outage.Seen(T0.AddSeconds(65)).Recovered); // a stamp from before the declaration is not a recovery
        Assert.True(outage.Seen(T0.AddSeconds(71)).Recovered);
        Assert.Equal("silent", outage.Status(Grace).Status);
    }

    [Fact]
    public void No_interval_or_an_inactive_connection_is_not_watched()
    {
        Assert.Null(Watch(interval: null).DueAt(Grace));
        Assert.Null(Watch(active: false).DueAt(Grace));
        Assert.Equal("off", Watch(interval: null).Status(Grace).Status);
    }
}
