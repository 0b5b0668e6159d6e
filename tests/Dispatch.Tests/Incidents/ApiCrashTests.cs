using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Dapper;
using Dispatch.Tests.Deliveries;
using Dispatch.Tests.Infrastructure;
using Npgsql;

namespace Dispatch.Tests.Incidents;

/// <summary>The Api as a real process, killed while creates are in flight; the client repeats them with their idempotency keys.</summary>
[Trait("Tier", "Full")] // real processes: a Silo, the Api or the AppHost
public sealed class ApiCrashTests : DeliveryWorld
{
    // Sent 8 at a time: the client is still sending when the third has been committed, however fast the Api answers each one.
    private const int Creates = 96;
    private const int InFlight = 8;

    [Fact]
    public async Task An_api_killed_mid_request_loses_no_incident_and_the_repeats_make_none_twice()
    {
        var (gasco, _, _) = await OnboardCompanyAsync("gasco");
        await ChannelAsync(gasco, "webhook", "dispatch hook", $$"""{"url":"{{Webhooks.Url}}","secret":"0123456789abcdef0123"}""");
        var token = (await LoginAsync()).AccessToken; // the same signing key: the process Api accepts it
        HttpRequestMessage Create(int i)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/incidents")
            {
                Content = JsonContent.Create(new { priority = "critical", title = $"Leak {i}", agencyIds = new[] { gasco } }),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            request.Headers.Add("Idempotency-Key", $"cad-call-{i}");
            return request;
        }

        var port = Dispatch.Testing.LoopbackPort.Free();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var api = HostProcess.Start("Dispatch.Api", this, new Dictionary<string, string?>(), port);
        await ApiHost.WaitReadyAsync(http, () => api.Output);
        using var slots = new SemaphoreSlim(InFlight);
        var sends = Enumerable.Range(0, Creates).Select(i => Task.Run(async () =>
        {
            await slots.WaitAsync();
            try
            {
                using var response = await http.SendAsync(Create(i));
                return response.StatusCode;
            }
            catch (HttpRequestException)
            {
                return (HttpStatusCode)0; // the Api died under the request, or before it
            }
            finally
            {
                slots.Release();
            }
        })).ToList();
        await Wait.UntilAsync(async () =>
        {
            await using var c = new NpgsqlConnection(ConnectionString);
            return await c.ExecuteScalarAsync<int>("select count(*) from incidents") >= 3;
        }, TimeSpan.FromSeconds(30), () => api.Output);
        await api.KillAsync();
        var answers = await Task.WhenAll(sends);
        await api.DisposeAsync();
        Assert.True(answers.Any(a => a != HttpStatusCode.Created), "every request was answered before the kill; the test proves nothing");

        // A new Api; the client repeats every create with its key.
        await using var restarted = HostProcess.Start("Dispatch.Api", this, new Dictionary<string, string?>(), port);
        await ApiHost.WaitReadyAsync(http, () => restarted.Output);
        for (var i = 0; i < Creates; i++)
        {
            using var response = await http.SendAsync(Create(i));
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        await using var db = new NpgsqlConnection(ConnectionString);
        Assert.Equal(Creates, await db.ExecuteScalarAsync<int>("select count(*) from incidents"));
        Assert.Equal(Creates, await db.ExecuteScalarAsync<int>("select count(distinct title) from incidents"));
        Assert.Equal(Creates, await db.ExecuteScalarAsync<int>("select count(*) from notifications"));
        await Wait.UntilAsync(async () => await db.ExecuteScalarAsync<int>("select count(*) from notification_deliveries where send_status = 'sent'") == Creates,
            TimeSpan.FromSeconds(60), () => Silo!.Output);
    }
}

