using System.Text.Json;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Dapper;
using Dispatch.Tests.Infrastructure;

namespace Dispatch.Tests.Escalation;

/// <summary>
/// Deadlines when a silo dies or hangs, in real Silo processes with the tuned failure detection: each fires exactly once, within
/// the product's bound of its due time (5 s when a silo is killed, 15 s when one hangs), and the Api answers at once, never hangs.
/// </summary>
[Trait("Tier", "Full")] // real processes: a Silo, the Api or the AppHost
[Collection(Alone.Name)]
public sealed class FailoverTests : EscalationWorld
{
    private const int Incidents = 16;

    private Dictionary<string, string?> SecondSiloSettings => WorldSiloSettings();

    [Fact]
    public async Task A_silo_killed_with_pending_deadlines_leaves_each_to_fire_once_on_the_other_within_five_seconds()
    {
        var (lateness, membership) = await FailAsync(silo => silo.KillAsync(), dueIn: TimeSpan.FromSeconds(2));
        Assert.True(lateness.All(late => late >= TimeSpan.Zero && late <= TimeSpan.FromSeconds(5)),
            $"lateness {string.Join(", ", lateness.Select(l => l.TotalSeconds.ToString("F1")))} s\n{membership}");
    }

    [Fact]
    public async Task A_hung_silo_leaves_each_deadline_to_fire_once_on_the_other_within_fifteen_seconds()
    {
        var (lateness, membership) = await FailAsync(silo => Signal("STOP", silo.Pid), dueIn: TimeSpan.FromSeconds(2), resume: silo => Signal("CONT", silo.Pid));
        Assert.True(lateness.All(late => late >= TimeSpan.Zero && late <= TimeSpan.FromSeconds(15)),
            $"lateness {string.Join(", ", lateness.Select(l => l.TotalSeconds.ToString("F1")))} s\n{membership}");
    }

    /// <summary>
    /// Two silos, incidents spread over both, with an acknowledgement timeout that makes their deadlines fall due
    /// <paramref name="dueIn"/> after one silo is failed (before the cluster can have declared it dead): the deadlines the failed
    /// silo's grains held are recovered, not fired by their own timers. Waits for every step, (resumes the failed silo,) checks each
    /// fired exactly once and returns how late each step committed.
    /// </summary>
    private async Task<(IReadOnlyList<TimeSpan> Lateness, string Membership)> FailAsync(Func<ExternalProcess, Task> fail, TimeSpan dueIn,
        Func<ExternalProcess, Task>? resume = null)
    {
        await SetUpAsync(repeatCount: 0);
        await using var second = await StartSiloProcessAsync(SecondSiloSettings);
        await using (var c = await OwnerConnectionAsync()) await c.ExecuteAsync("update escalation_rules set ack_timeout_seconds = 12");
        var incidents = new List<Guid>();
        for (var i = 0; i < Incidents; i++) incidents.Add(await RaiseAsync("critical", Gasco));
        DateTime firstDue;
        await using (var c = await OwnerConnectionAsync())
            firstDue = await c.ExecuteScalarAsync<DateTime>("select min(escalation_due_at) from notifications where kind = 'company' and tier = 0");
        var untilFailure = new DateTimeOffset(firstDue, TimeSpan.Zero) - dueIn - DateTimeOffset.UtcNow;
        Assert.True(untilFailure > TimeSpan.Zero, "raising the incidents took longer than their timeout; the test proves nothing");
        await Task.Delay(untilFailure); // the failure's moment, relative to the deadlines

        var failedAt = DateTimeOffset.UtcNow;
        await fail(Silo!);
        await Wait.UntilAsync(async () => await StepsAsync() >= Incidents, TimeSpan.FromSeconds(60), () => second.Output);
        if (resume is not null) await resume(Silo!);
        await Task.Delay(TimeSpan.FromSeconds(4)); // room for a second firing, if there were one (the resumed silo's timers included)

        await using var db = await OwnerConnectionAsync();
        Assert.Equal(Incidents, await StepsAsync());
        foreach (var id in incidents)
            Assert.Equal(1, await db.ExecuteScalarAsync<int>(
                "select count(*) from notifications where incident_id = @id and kind = 'company' and tier = 1", new { id }));
        var lateness = (await db.QueryAsync<double>("""
            select extract(epoch from escalated_at - escalation_due_at)::float8 from notifications
            where kind = 'company' and tier = 0 and escalated_at is not null
            """)).Select(TimeSpan.FromSeconds).ToList();
        // What the surviving silo's membership said, for a failure's message.
        var membership = string.Join('\n', second.Output.Split('\n').Where(l => l.Contains("dead", StringComparison.OrdinalIgnoreCase)
            || l.Contains("suspect", StringComparison.OrdinalIgnoreCase)).Take(20));
        return (lateness, $"failed at {failedAt:O}\n{membership}");
    }

    [Fact]
    public async Task A_delivery_in_flight_on_a_killed_silo_is_sent_again_within_five_seconds_of_its_death_being_declared()
    {
        await SetUpAsync(repeatCount: 0);
        var (hookco, _, _) = await OnboardCompanyAsync("hookco");
        await ChannelAsync(hookco, "webhook", "hookco hook", $$"""{"url":"{{Webhooks.Url}}","secret":"0123456789abcdef0123"}""");
        await ResponderAsync(hookco, "rita@hookco.example");
        await using var second = await StartSiloProcessAsync(SecondSiloSettings);
        Webhooks.Delay = TimeSpan.FromSeconds(3); // every first send is still in flight when the silo dies
        for (var i = 0; i < 8; i++) await RaiseAsync("critical", hookco);
        await Wait.UntilAsync(() => Task.FromResult(Webhooks.Arrived >= 16), TimeSpan.FromSeconds(30), () => second.Output); // two recipients each

        await using var db = await OwnerConnectionAsync();
        var holders = (await db.QueryAsync<(Guid Id, string ClaimedBy)>(
            "select id, claimed_by from notification_deliveries where send_status = 'sending'")).ToList();
        var killedAt = DateTimeOffset.UtcNow;
        await Silo!.KillAsync();
        string dead = "";
        await Wait.UntilAsync(async () =>
        {
            dead = await db.ExecuteScalarAsync<string>( // Orleans' SiloStatus.Dead, as the silo address a claim names
                "select address || ':' || port || '@' || generation from orleansmembershiptable where status = 6") ?? "";
            return dead.Length > 0;
        }, TimeSpan.FromSeconds(30), () => second.Output);
        var declaredAt = DateTimeOffset.UtcNow; // as seen from outside: no earlier than the declaration
        var orphaned = holders.Where(h => h.ClaimedBy == dead).Select(h => h.Id).ToList();
        Assert.True(orphaned.Count > 0, $"the killed silo held none of the sends in flight ({string.Join(", ", holders.Select(h => h.ClaimedBy).Distinct())}, dead {dead}); the test proves nothing");

        DateTimeOffset SecondArrival(Guid delivery) => Webhooks.Arrivals
            .Where(a => JsonDocument.Parse(a.Body).RootElement.GetProperty("deliveryId").GetGuid() == delivery).Select(a => a.At).Order().ElementAtOrDefault(1);
        await Wait.UntilAsync(() => Task.FromResult(orphaned.All(d => SecondArrival(d) != default)), TimeSpan.FromSeconds(90), () => second.Output);
        var lateness = orphaned.Select(d => SecondArrival(d) - declaredAt).ToList();
        Assert.True(lateness.All(l => l <= TimeSpan.FromSeconds(5)),
            $"sent again {string.Join(", ", lateness.Select(l => l.TotalSeconds.ToString("F1")))} s after the death was seen declared " +
            $"({(declaredAt - killedAt).TotalSeconds:F1} s after the kill)");
        await Wait.UntilAsync(async () => await db.ExecuteScalarAsync<int>(
            "select count(*) from notification_deliveries where id = any(@orphaned) and send_status = 'sent'", new { orphaned }) == orphaned.Count,
            TimeSpan.FromSeconds(30), () => second.Output);
    }

    [Fact]
    public async Task A_deadline_outlives_its_killed_silo_through_the_reminder_written_before_the_create_returned()
    {
        await SetUpAsync(repeatCount: 0);
        await using (var c = await OwnerConnectionAsync())
            await c.ExecuteAsync("update escalation_rules set ack_timeout_seconds = 30"); // room to replace the silo first
        var id = await RaiseAsync("critical", Gasco);
        await Silo!.KillAsync(); // the grain, and its timer, die with the silo
        // The replacement arms no deadline at its start and runs no sweep: only the reminder can bring the deadline back.
        await using var replacement = await StartSiloProcessAsync(new Dictionary<string, string?>(SecondSiloSettings)
        {
            ["Dispatch:Recovery:DeadlineHorizon"] = "00:00:00", ["Dispatch:Recovery:SweepInterval"] = "01:00:00",
        });
        await using var db = await OwnerConnectionAsync();
        var due = await db.ExecuteScalarAsync<DateTime>("select escalation_due_at from notifications where incident_id = @id", new { id });
        Assert.True(DateTime.UtcNow < due, "the replacement came up after the deadline; the test proves nothing");

        await Wait.UntilAsync(async () => await LoggedAsync(id, "escalation") == 1, TimeSpan.FromSeconds(90), () => replacement.Output);
        var late = TimeSpan.FromSeconds(await db.ExecuteScalarAsync<double>(
            "select extract(epoch from escalated_at - escalation_due_at) from notifications where incident_id = @id and kind = 'company' and tier = 0",
            new { id }));
        Assert.InRange(late, TimeSpan.Zero, TimeSpan.FromSeconds(5)); // the reminder ticks at the deadline (a minute's period is only its repeat)
    }

    [Fact]
    public async Task With_its_only_silo_hung_the_api_answers_503_at_once_and_a_repeated_create_makes_one_incident()
    {
        await SetUpAsync(repeatCount: 0);
        var body = new { priority = "critical", title = "Gas leak", agencyIds = new[] { Gasco } };
        HttpRequestMessage Create()
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/incidents") { Content = JsonContent.Create(body) };
            request.Headers.Add("Idempotency-Key", "cad-call-4711");
            return request;
        }

        await Signal("STOP", Silo!.Pid);
        var clock = Stopwatch.StartNew();
        using (var refused = await Admin.SendAsync(Create()))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        }
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(10)); // the call timeout (5 s), not the default 30 s
        await Signal("CONT", Silo.Pid);

        // The refused request may have reached the grain and been done when the silo woke: the repeat answers with that incident.
        HttpResponseMessage repeated = null!;
        await Wait.UntilAsync(async () => (repeated = await Admin.SendAsync(Create())).StatusCode != HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.Created, repeated.StatusCode);
        using (var again = await Admin.SendAsync(Create()))
        {
            Assert.Equal(HttpStatusCode.Created, again.StatusCode);
            Assert.Equal("true", again.Headers.GetValues("Idempotent-Replayed").Single());
            Assert.Equal(repeated.Headers.Location, again.Headers.Location);
        }
        await using var db = await OwnerConnectionAsync();
        Assert.Equal(1, await db.ExecuteScalarAsync<int>("select count(*) from incidents where title = 'Gas leak'"));
        Assert.Equal(1, await db.ExecuteScalarAsync<int>("select count(*) from notifications where kind = 'company'"));
    }

    private async Task<int> StepsAsync()
    {
        await using var c = await OwnerConnectionAsync();
        return await c.ExecuteScalarAsync<int>("select count(*) from incident_communications where communication_type = 'escalation'");
    }

    private static async Task Signal(string signal, int pid)
    {
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString()]);
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }
}
