using System.Net;
using System.Net.Http.Json;
using Dispatch.Testing;
using Dapper;
using Dispatch.Tests.Infrastructure;

namespace Dispatch.Tests.Escalation;

/// <summary>
/// PostgreSQL crashes (an immediate stop: no shutdown checkpoint) while deadlines fall due and comes back on the same port: the
/// Silo and the Api keep running, the Api answers 503 meanwhile, and every step and delivery is finished once, after the restart.
/// A server of the test's own, so the run's shared one is never touched.
/// </summary>
[Collection(Alone.Name)]
public sealed class PostgresRestartTests : EscalationWorld
{
    private const int Incidents = 6;
    private EmbeddedPostgres? _server;
    private IDisposable? _stopAtExit;
    private readonly string _root = Dispatch.Testing.TestRun.NewFolder("restart-");

    protected override async Task<string> CreateDatabaseAsync()
    {
        var binDir = await PostgresBinaries.FindAsync() ?? throw new InvalidOperationException(PostgresBinaries.InstallHelp);
        Directory.CreateDirectory(_root);
        File.SetUnixFileMode(_root, File.GetUnixFileMode(_root) | UnixFileMode.OtherExecute); // the postgres user reaches its data
        _server = new EmbeddedPostgres(binDir, _root, durable: true); // fsync on: a crash must lose nothing that was committed
        _stopAtExit = TestRun.StopPostgresAtExit(binDir, _server.DataDir);
        await _server.StartAsync();
        await _server.EnsureDatabaseAsync(Name);
        return _server.ConnectionString(Name, pooling: false);
    }

    protected override async Task DropDatabaseAsync()
    {
        if (_server is not null) await _server.StopAsync();
        _stopAtExit?.Dispose();
        try { Directory.Delete(_root, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    [Fact]
    public async Task Deadlines_and_deliveries_due_while_postgres_is_down_are_finished_once_after_it_restarts()
    {
        await SetUpAsync(repeatCount: 0);
        var incidents = new List<Guid>();
        for (var i = 0; i < Incidents; i++) incidents.Add(await RaiseAsync("critical", Gasco));
        await using (var c = await OwnerConnectionAsync())
            await c.ExecuteAsync("""
                update notifications set escalation_due_at = now() + interval '2 seconds'
                where kind = 'company' and tier = 0 and escalation_due_at is not null
                """);

        await _server!.StopAsync(immediate: true);
        using (var refused = await Admin.PostAsJsonAsync("/api/v1/incidents",
                   new { priority = "critical", title = "During the outage", agencyIds = new[] { Gasco } }))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
        }
        await Task.Delay(TimeSpan.FromSeconds(5)); // every deadline falls due while the database is down
        await _server.StartAsync();

        await Wait.UntilAsync(async () => await TierOneAsync() >= Incidents, TimeSpan.FromSeconds(60), () => Silo!.Output);
        await RaiseAsync("critical", Gasco); // the Api works again
        await using var db = await OwnerConnectionAsync();
        await Wait.UntilAsync(async () => await db.ExecuteScalarAsync<int>("select count(*) from notification_deliveries where send_status <> 'sent'") == 0,
            TimeSpan.FromSeconds(60), () => Silo!.Output);
        await Task.Delay(TimeSpan.FromSeconds(3)); // room for a second firing, if there were one

        foreach (var id in incidents)
            Assert.Equal(1, await db.ExecuteScalarAsync<int>(
                "select count(*) from notifications where incident_id = @id and kind = 'company' and tier = 1", new { id }));
        Assert.Equal(0, await db.ExecuteScalarAsync<int>("select count(*) from notification_deliveries where send_status <> 'sent'"));
        Assert.Equal(Incidents + 1, await db.ExecuteScalarAsync<int>("select count(*) from incidents")); // none from the outage
    }

    private async Task<int> TierOneAsync()
    {
        try
        {
            await using var db = await OwnerConnectionAsync();
            return await db.ExecuteScalarAsync<int>("select count(*) from notifications where kind = 'company' and tier = 1");
        }
        catch (Npgsql.NpgsqlException)
        {
            return 0; // still starting
        }
    }
}
