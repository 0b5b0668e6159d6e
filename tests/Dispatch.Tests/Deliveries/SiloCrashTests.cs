using System.Text.Json;
using Dapper;
using Dispatch.Tests.Infrastructure;
using Npgsql;

namespace Dispatch.Tests.Deliveries;

public sealed class SiloCrashTests : DeliveryWorld
{
    [Fact]
    public async Task A_silo_killed_mid_run_loses_no_delivery_and_repeats_only_what_was_in_flight()
    {
        var (gasco, _, _) = await OnboardCompanyAsync("gasco");
        await ChannelAsync(gasco, "webhook", "dispatch hook", $$"""{"url":"{{Webhooks.Url}}","secret":"0123456789abcdef0123"}""");
        await ResponderAsync(gasco, "rita@gasco.example");
        Webhooks.Delay = TimeSpan.FromMilliseconds(250);
        for (var i = 0; i < 20; i++) await RaiseAsync("critical", gasco);
        const int total = 40; // two recipients each

        await Wait.UntilAsync(() => Task.FromResult(Webhooks.Requests.Count >= 6), TimeSpan.FromSeconds(60), () => Silo!.Output);
        await Silo!.KillAsync();
        var beforeRestart = Webhooks.Requests.Count;
        StartSilo();

        await using var c = new NpgsqlConnection(ConnectionString);
        await Wait.UntilAsync(async () => await c.ExecuteScalarAsync<int>("select count(*) from notification_deliveries where send_status = 'sent'") == total,
            TimeSpan.FromSeconds(90), () => Silo!.Output);

        var received = Webhooks.Requests.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("deliveryId").GetGuid()).ToList();
        var ids = (await c.QueryAsync<Guid>("select id from notification_deliveries")).ToHashSet();
        Assert.True(beforeRestart < total, "the Silo finished before it was killed; the test proves nothing");
        Assert.Equal(ids.Order(), received.Distinct().Order());
        Assert.True(received.Count - ids.Count <= 8, $"{received.Count - ids.Count} repeats: more than the deliveries in flight at the kill");
        Assert.Equal(total, await c.ExecuteScalarAsync<int>(
            "select count(*) from incident_communications where communication_type = 'notification'"));
    }
}
