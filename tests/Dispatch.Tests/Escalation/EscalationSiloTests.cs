using Dapper;
using Dispatch.Tests.Infrastructure;

namespace Dispatch.Tests.Escalation;

/// <summary>The escalation loop in real Silo processes. "Time passes" by moving the deadlines in the database.</summary>
[Trait("Tier", "Full")] // real processes: a Silo, the Api or the AppHost
public sealed class EscalationSiloTests : EscalationWorld
{
    /// <summary>Moves every live first-tier deadline to <paramref name="seconds"/> from now (negative: already overdue).</summary>
    private Task MoveDeadlinesAsync(double seconds) => MoveDeadlinesAsync(seconds, "kind = 'company' and tier = 0");

    private async Task<int> StepsAsync()
    {
        await using var c = await OwnerConnectionAsync();
        return await c.ExecuteScalarAsync<int>("select count(*) from incident_communications where communication_type = 'escalation'");
    }

    private async Task AssertEachFiredOnceAsync(IReadOnlyList<Guid> incidents)
    {
        await using var c = await OwnerConnectionAsync();
        foreach (var id in incidents)
        {
            Assert.Equal(1, await LoggedAsync(id, "escalation"));
            Assert.Equal([Supervisor], await c.QueryAsync<Guid>(
                "select notified_user_id from notifications where incident_id = @id and kind = 'company' and tier = 1", new { id }));
            Assert.Equal(1, await c.ExecuteScalarAsync<int>("select count(*) from notifications where incident_id = @id and kind = 'psap_alert'", new { id }));
        }
    }

    [Fact]
    public async Task Two_silos_fire_every_escalation_exactly_once_and_the_next_tier_and_the_psap_get_their_mail()
    {
        await SetUpAsync(repeatCount: 0);
        await using var second = await StartSiloProcessAsync(WorldSiloSettings());
        var incidents = new List<Guid>();
        for (var i = 0; i < 20; i++) incidents.Add(await RaiseAsync("critical", Gasco));

        await MoveDeadlinesAsync(1);
        await Wait.UntilAsync(async () => await StepsAsync() >= incidents.Count, TimeSpan.FromSeconds(60), () => Silo!.Output + second.Output);
        await Task.Delay(TimeSpan.FromSeconds(3)); // room for a second firing, if there were one
        Assert.Equal(incidents.Count, await StepsAsync());
        await AssertEachFiredOnceAsync(incidents);

        // Deliveries are at least once (a claim that outlives its lease under load is sent again, with the same Message-ID):
        // count distinct deliveries per recipient.
        int Delivered(string to) => Smtp.Messages().Where(m => m.ToAddress == to).Select(m => m.DeliveryId).Distinct().Count();
        await Wait.UntilAsync(() => Task.FromResult(Delivered("supervisor@gasco.example") >= incidents.Count && Delivered(AdminEmail) >= incidents.Count),
            TimeSpan.FromSeconds(60), () => Silo!.Output);
        Assert.Equal(incidents.Count, Delivered("supervisor@gasco.example"));
        Assert.Equal(incidents.Count, Delivered(AdminEmail));
    }

    [Fact]
    public async Task A_recipient_whose_every_channel_fails_gets_the_psap_users_messaged()
    {
        await SetUpAsync(repeatCount: 0);
        var deadco = await CompanyWithRuleAsync("deadco", "webhook", """{"url":"http://127.0.0.1:1/hook","secret":"0123456789abcdef0123"}""");
        var id = await RaiseAsync("critical", deadco);

        // Three refused attempts (MaxAttempts 3, 200 ms apart and doubling), then dead-lettered, then the alert goes out by email.
        await Wait.UntilAsync(() => Task.FromResult(Smtp.Messages().Any(m => m.ToAddress == AdminEmail)), TimeSpan.FromSeconds(60), () => Silo!.Output);
        var incident = await IncidentAsync(id);
        Assert.Equal("dead_lettered", Company(incident)["notifications"]![0]!["deliveries"]![0]!["sendStatus"]!.GetValue<string>());
        Assert.Equal(PsapAdmin, Assert.Single(incident["psapAlerts"]!.AsArray())!["notifiedUserId"]!.GetValue<Guid>());
    }

    [Fact]
    public async Task A_silo_killed_with_pending_deadlines_fires_each_overdue_one_once_after_restart()
    {
        await SetUpAsync(repeatCount: 0);
        var incidents = new List<Guid>();
        for (var i = 0; i < 10; i++) incidents.Add(await RaiseAsync("critical", Gasco));
        await Silo!.KillAsync();

        await MoveDeadlinesAsync(-5); // they fell due while no Silo ran
        Assert.Equal(0, await StepsAsync());
        await StartSiloAsync();
        await Wait.UntilAsync(async () => await StepsAsync() >= incidents.Count, TimeSpan.FromSeconds(60), () => Silo!.Output);
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(incidents.Count, await StepsAsync());
        await AssertEachFiredOnceAsync(incidents);
        Assert.Contains("Escalation of company", Silo!.Output);
    }
}
