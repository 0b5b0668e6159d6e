using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using Dispatch.Tests.Infrastructure;
using Npgsql;

namespace Dispatch.Tests.Incidents;

/// <summary>What a command system and the people on an incident can do through HTTP alone: raise it with a connection key, read its log.</summary>
public sealed class IncidentApiPromisesTests : IdentityHost
{
    private async Task<(Guid Company, HttpClient Admin, Guid AdminId)> CompanyAsync(string slug)
    {
        var (company, email, password) = await OnboardCompanyAsync(slug);
        var admin = As("Bearer " + (await LoginAsync(email, password)).AccessToken);
        var me = (await SendAsync(admin, HttpMethod.Get, "/api/v1/users")).Body!["items"]![0]!["id"]!.GetValue<Guid>();
        return (company, admin, me);
    }

    [Fact]
    public async Task A_command_system_raises_an_incident_with_its_own_key_and_the_incident_records_which_connection()
    {
        using var admin = await AsAdminAsync();
        var (gasco, _, _) = await CompanyAsync("gasco");
        var connection = await SendAsync(admin, HttpMethod.Post, "/api/v1/command-connections", new { name = "County CAD", ackMode = "poll" });
        var connectionId = connection.Body!["connection"]!["id"]!.GetValue<Guid>();
        using var cad = As("ApiKey " + connection.Body["apiKey"]!.GetValue<string>());

        var created = await SendAsync(cad, HttpMethod.Post, "/api/v1/incidents",
            new { priority = "irod", title = "Train vs. car at crossing 14", address = "Crossing 14, Mill Road", agencyIds = new[] { gasco } });
        var read = await SendAsync(cad, HttpMethod.Get, $"/api/v1/incidents/{created.Body?["incident"]?["id"]}");

        Assert.True(created.Status == HttpStatusCode.Created, created.Body?.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, read.Status);
        var id = created.Body!["incident"]!["id"]!.GetValue<Guid>();
        await using var c = new NpgsqlConnection(ConnectionString);
        var author = await c.QuerySingleAsync<(Guid? User, Guid? ApiKey, Guid? Connection)>(
            "select created_by_user_id, created_by_api_key_id, created_by_command_connection_id from incidents where id = @id", new { id });
        Assert.Equal((null, null, connectionId), author);
        Assert.Equal(connectionId, await c.ExecuteScalarAsync<Guid?>(
            "select command_connection_id from audit_logs where action = 'incident.created' and entity_id = @id", new { id }));
    }

    [Fact]
    public async Task The_communication_log_lists_every_entry_oldest_first_decrypted_and_a_company_sees_only_its_own()
    {
        using var admin = await AsAdminAsync();
        var (gasco, gascoAdmin, _) = await CompanyAsync("gasco");
        var (tow, towAdmin, _) = await CompanyAsync("tow");
        using (gascoAdmin)
        using (towAdmin)
        {
            // gasco and tow have nobody reachable: the PSAP's log says so, once for each. gasco's admin then acknowledges for gasco.
            var id = (await SendAsync(admin, HttpMethod.Post, "/api/v1/incidents",
                new { priority = "critical", title = "Gas main struck by excavator", agencyIds = new[] { gasco, tow } })).Body!["incident"]!["id"]!.GetValue<Guid>();
            await using (var c = new NpgsqlConnection(ConnectionString))
                await c.ExecuteAsync("insert into incident_communications (incident_id, agency_id, communication_type, direction) values (@id, @tow, 'note', 'internal')",
                    new { id, tow });
            var ack = await SendAsync(gascoAdmin, HttpMethod.Post, $"/api/v1/incidents/{id}/ack");

            var psapLog = await SendAsync(admin, HttpMethod.Get, $"/api/v1/incidents/{id}/communications");
            var firstPage = await SendAsync(admin, HttpMethod.Get, $"/api/v1/incidents/{id}/communications?pageSize=2");
            var lastPage = await SendAsync(admin, HttpMethod.Get, $"/api/v1/incidents/{id}/communications?page=2&pageSize=2");
            var gascoLog = await SendAsync(gascoAdmin, HttpMethod.Get, $"/api/v1/incidents/{id}/communications");
            var towLog = await SendAsync(towAdmin, HttpMethod.Get, $"/api/v1/incidents/{id}/communications");
            var unknown = await SendAsync(admin, HttpMethod.Get, $"/api/v1/incidents/{Guid.NewGuid()}/communications");

            Assert.Equal(HttpStatusCode.OK, ack.Status);
            string[] Types(JsonNode? page) => page!["items"]!.AsArray().Select(e => e!["communicationType"]!.GetValue<string>()).ToArray();
            Assert.Equal(["no_recipients", "no_recipients", "note", "acknowledgement"], Types(psapLog.Body));
            Assert.Equal(4, psapLog.Body!["total"]!.GetValue<long>());
            Assert.Contains("No one at company", psapLog.Body["items"]![0]!["content"]!.GetValue<string>()); // decrypted
            Assert.Equal(Types(psapLog.Body), Types(firstPage.Body).Concat(Types(lastPage.Body)));
            Assert.Equal(["acknowledgement"], Types(gascoLog.Body));
            Assert.All(gascoLog.Body!["items"]!.AsArray(), e => Assert.Equal(gasco, e!["agencyId"]!.GetValue<Guid>()));
            Assert.Equal(["note"], Types(towLog.Body));
            Assert.Equal(HttpStatusCode.NotFound, unknown.Status);
        }
    }

    [Fact]
    public async Task Every_list_answers_one_paginated_shape()
    {
        using var admin = await AsAdminAsync();
        var (_, gascoAdmin, _) = await CompanyAsync("gasco");
        using (gascoAdmin)
        {
            var lists = new List<(HttpClient, string)>
            {
                (admin, "/api/v1/agencies"), (admin, "/api/v1/users"), (admin, "/api/v1/roles"), (admin, "/api/v1/api-keys"),
                (admin, "/api/v1/command-connections"), (admin, "/api/v1/incidents"), (admin, "/api/v1/cfs-configurations"),
                (admin, "/api/v1/cfs-imports"), (admin, "/api/v1/cfs-incidents"), (admin, "/api/v1/transport-types"),
                (admin, "/api/v1/transport-channels"), (admin, "/api/v1/notification-rules"), (gascoAdmin, "/api/v1/escalation-rules"),
            };
            foreach (var (client, path) in lists)
            {
                var page = await SendAsync(client, HttpMethod.Get, path + "?page=1&pageSize=2");
                Assert.True(page.Status == HttpStatusCode.OK, $"{path}: {page.Status} {page.Body?.ToJsonString()}");
                var body = Assert.IsType<JsonObject>(page.Body, exactMatch: false);
                Assert.True(body["items"] is JsonArray { Count: <= 2 }, $"{path}: {body.ToJsonString()}");
                Assert.Equal((1, 2), (body["pageNumber"]!.GetValue<int>(), body["pageSize"]!.GetValue<int>()));
                Assert.True(body["total"]!.GetValue<long>() >= body["items"]!.AsArray().Count, path);
            }
            var types = await SendAsync(admin, HttpMethod.Get, "/api/v1/transport-types?page=2&pageSize=3");
            Assert.Equal((5, 2), (types.Body!["total"]!.GetValue<int>(), types.Body["items"]!.AsArray().Count));
        }
    }
}
