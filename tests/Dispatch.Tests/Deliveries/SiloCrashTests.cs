using System.Text.Json;
using Dapper;
using Dispatch.Tests.Infrastructure;
using Npgsql;

namespace Dispatch.Tests.Deliveries;

[Trait("Tier", "Full")] // real processes: a Silo, the Api or the AppHost
public sealed class SiloCrashTests : DeliveryWorld
{
    [Fact]
    public async Task A_silo_killed_mid_run_loses_no_delivery_and_repeats_only_what_was_in_flight()
    {
        var (gasco, _, _) = await OnboardCompanyAsync("gasco");
        await ChannelAsync(gasco, "webhook", "dispatch hook", $$"""{"url":"{{Webhooks.Url}}","secret":"0123456789abcdef0123"}""");
        await ResponderAsync(gasco, "rita@gasco.example");
        Webhooks.Delay = TimeSpan.FromSeconds(2); // every send is still in flight when the Silo dies
        for (var i = 0; i < 20; i++) await RaiseAsync("critical", gasco);
        const int total = 40; // two recipients each

        await Wait.UntilAsync(() => Task.FromResult(Webhooks.Arrived >= 6), TimeSpan.FromSeconds(60), () => Silo!.Output);
        await Silo!.KillAsync();
        await using var c = new NpgsqlConnection(ConnectionString);
        var inFlight = await c.ExecuteScalarAsync<int>("select count(*) from notification_deliveries where send_status = 'sending'");
        await StartSiloAsync();

        await Wait.UntilAsync(async () => await c.ExecuteScalarAsync<int>("select count(*) from notification_deliveries where send_status = 'sent'") == total,
            TimeSpan.FromSeconds(90), () => Silo!.Output);

        await Task.Delay(Webhooks.Delay); // the receiver finishes answering the dead Silo's last requests
        var received = Webhooks.Requests.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("deliveryId").GetGuid()).ToList();
        var ids = (await c.QueryAsync<Guid>("select id from notification_deliveries")).ToHashSet();
        Assert.True(inFlight > 0, "nothing was in flight at the kill; the test proves nothing");
        Assert.Equal(ids.Order(), received.Distinct().Order());
        Assert.True(received.Count - ids.Count <= inFlight, $"{received.Count - ids.Count} repeats: more than the {inFlight} deliveries in flight at the kill");
        Assert.Equal(total, await c.ExecuteScalarAsync<int>(
            "select count(*) from incident_communications where communication_type = 'notification'"));
    }
}
