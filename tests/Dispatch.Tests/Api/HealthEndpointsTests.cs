using System.Net;
using System.Text.Json;
using Dapper;
using Dispatch.Tests.Infrastructure;
using Npgsql;

namespace Dispatch.Tests.Api;

public sealed class HealthEndpointsTests : TestDatabase
{
    [Fact]
    public async Task A_started_api_is_alive_and_ready_with_every_migration_applied()
    {
        await using var api = new ApiHost(this);
        using var client = api.StartClient();

        using var alive = await client.GetAsync("/alive");
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
        // Ready once it has reached its silo too (moments after start; Degraded, 503, until then).
        await ApiHost.WaitReadyAsync(client);
        using var health = await client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using var body = JsonDocument.Parse(await health.Content.ReadAsStringAsync());
        Assert.Equal("Healthy", body.RootElement.GetProperty("checks").GetProperty("database").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Health_is_unavailable_when_a_migration_is_missing_but_the_process_stays_alive()
    {
        await using var api = new ApiHost(this);
        using var client = api.StartClient();
        await using (var connection = new NpgsqlConnection(ConnectionString))
            await connection.ExecuteAsync("delete from schema_migrations where version = (select max(version) from schema_migrations)");

        using var health = await client.GetAsync("/health");
        using var alive = await client.GetAsync("/alive");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Contains("not applied", await health.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
    }

    [Fact]
    public async Task Health_is_unavailable_when_the_database_cannot_be_reached()
    {
        await using var api = new ApiHost(this);
        using var client = api.StartClient();
        await using (var admin = new NpgsqlConnection(await PostgresServer.ConnectionStringAsync("postgres")))
        {
            await admin.ExecuteAsync($"alter database {Name} allow_connections false");
            await admin.ExecuteAsync("select pg_terminate_backend(pid) from pg_stat_activity where datname = @Name", new { Name });
        }
        try
        {
            using var health = await client.GetAsync("/health");

            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            Assert.Contains("unreachable", await health.Content.ReadAsStringAsync());
        }
        finally
        {
            await using var admin = new NpgsqlConnection(await PostgresServer.ConnectionStringAsync("postgres"));
            await admin.ExecuteAsync($"alter database {Name} allow_connections true");
        }
    }

    [Fact]
    public async Task Unknown_routes_answer_with_problem_details()
    {
        await using var api = new ApiHost(this);
        using var client = api.StartClient();

        using var response = await client.GetAsync("/api/v1/no-such-thing");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(404, body.RootElement.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task The_openapi_document_is_served()
    {
        await using var api = new ApiHost(this);
        using var client = api.StartClient();

        using var response = await client.GetAsync("/openapi/v1.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.StartsWith("3.", body.RootElement.GetProperty("openapi").GetString());
    }
}
