using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Dispatch.Tests.Infrastructure;
using Npgsql;

namespace Dispatch.Tests.Incidents;

/// <summary>
/// One incident's grain under a crowd: a hundred clients at once, each sending its commands one after another, some of them the
/// largest request the Api accepts. Every command is answered on its merits — never 503 because of the others — and the
/// incident ends as the commands say, each effect once. Alone: the 5 s bound is the product's, measured on the incident's own
/// traffic, not on other test classes saturating the two cores.
/// </summary>
[Collection(Alone.Name)]
[Trait("Tier", "Full")]
public sealed class OneIncidentUnderLoadTests : IdentityHost
{
    private readonly string _mail = Dispatch.Testing.TestRun.NewFolder("crowd-");

    protected override IReadOnlyDictionary<string, string?> HostExtras => new Dictionary<string, string?> { ["Dispatch:Email:PickupDirectory"] = _mail };

    [Fact]
    public async Task A_hundred_clients_at_once_on_one_incident_are_each_answered_on_their_merits()
    {
        var (gasco, email, password) = await OnboardCompanyAsync("gasco");
        var (waterco, _, _) = await OnboardCompanyAsync("waterco");
        using var company = As("Bearer " + (await LoginAsync(email, password)).AccessToken);
        (await company.PostAsJsonAsync("/api/v1/transport-channels", new { transportType = "email", name = "mail", config = new { } })).EnsureSuccessStatusCode();
        using var admin = await AsAdminAsync();
        using var created = await admin.PostAsJsonAsync("/api/v1/incidents", new { priority = "critical", title = "Crowded", agencyIds = new[] { gasco } });
        created.EnsureSuccessStatusCode();
        var id = (await created.Content.ReadFromJsonAsync<JsonObject>())!["incident"]!["id"]!.GetValue<Guid>();

        // Per client, in order: an acknowledgement by the company, an assignment of the largest size the Api takes (a hundred
        // companies, one of them real, the rest unknown: refused whole), an assignment of the second company, and another
        // acknowledgement.
        var unknown = Enumerable.Range(0, 99).Select(_ => Guid.NewGuid()).Append(waterco).ToArray();
        var answers = new ConcurrentBag<(int Client, int Step, HttpStatusCode Status)>();
        await Task.WhenAll(Enumerable.Range(0, 100).Select(client => Task.Run(async () =>
        {
            async Task SendAsync(int step, HttpClient who, string path, object? body)
            {
                using var response = body is null ? await who.PostAsync(path, null) : await who.PostAsJsonAsync(path, body);
                answers.Add((client, step, response.StatusCode));
            }
            await SendAsync(0, company, $"/api/v1/incidents/{id}/ack", null);
            await SendAsync(1, admin, $"/api/v1/incidents/{id}/agencies", new { agencyIds = unknown });
            await SendAsync(2, admin, $"/api/v1/incidents/{id}/agencies", new { agencyIds = new[] { waterco } });
            await SendAsync(3, company, $"/api/v1/incidents/{id}/ack", null);
        })));

        Assert.Equal(400, answers.Count);
        var refused = answers.Where(a => (int)a.Status >= 500).ToList();
        Assert.True(refused.Count == 0, $"{refused.Count} of {answers.Count} commands answered 5xx: " +
            string.Join(", ", refused.GroupBy(a => (a.Step, a.Status)).Select(g => $"step {g.Key.Step} {(int)g.Key.Status} ×{g.Count()}"))
            + "; the Api said: " + string.Join(" | ", Api.Logs.Lines.Where(l => l.Contains("not served")).Take(3)));
        Assert.All(answers.Where(a => a.Step is 0 or 3), a => Assert.Equal(HttpStatusCode.OK, a.Status));
        Assert.All(answers.Where(a => a.Step == 1), a => Assert.Equal(HttpStatusCode.BadRequest, a.Status));
        Assert.All(answers.Where(a => a.Step == 2), a => Assert.True(a.Status.IsSuccess(), $"assigning waterco: {a.Status}"));

        await using var db = new NpgsqlConnection(ConnectionString);
        Assert.Equal(1, await db.ExecuteScalarAsync<int>(
            "select count(*) from incident_agencies where incident_id = @id and agent_agency_id = @waterco", new { id, waterco }));
        Assert.Equal(1, await db.ExecuteScalarAsync<int>(
            "select count(*) from incident_communications where incident_id = @id and communication_type = 'acknowledgement' and agency_id = @gasco",
            new { id, gasco }));
        Assert.Equal(2, await db.ExecuteScalarAsync<int>("select count(*) from incident_agencies where incident_id = @id", new { id }));
    }
}

internal static class StatusCodes
{
    public static bool IsSuccess(this HttpStatusCode status) => (int)status is >= 200 and < 300;
}
