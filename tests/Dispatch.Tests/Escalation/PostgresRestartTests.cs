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
[Trait("Tier", "Full")] // real processes: a Silo, the Api or the AppHost
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
        var acknowledged = new List<Guid>(); // acknowledged over and over by the stream below; their deadlines are an hour away
        for (var i = 0; i < 3; i++) acknowledged.Add(await RaiseAsync("critical", Gasco));
        await MoveDeadlinesAsync(2, "kind = 'company' and tier = 0");

        // A stream of acknowledgements and creates from before the crash until well after the restart.
        using var stop = new CancellationTokenSource();
        var stream = Task.Run(() => StreamAsync(acknowledged, stop.Token));
        await Wait.UntilAsync(() => Task.FromResult(_answers.Count >= 10), TimeSpan.FromSeconds(30));

        await _server!.StopAsync(immediate: true);
        using (var refused = await Admin.PostAsJsonAsync("/api/v1/incidents",
                   new { priority = "critical", title = "During the outage", agencyIds = new[] { Gasco } }))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
        }
        await Task.Delay(TimeSpan.FromSeconds(5)); // every deadline falls due while the database is down
        await _server.StartAsync();
        var restarted = _answers.Count;
        await Wait.UntilAsync(() => Task.FromResult(_answers.Skip(restarted).Count(a => a.Status is 200 or 201) >= 20), TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        var creates = await stream;

        // Every answer was a success or a 503 with Retry-After — never a 500, before, during or just after the outage.
        var wrong = _answers.Where(a => a.Status is not (200 or 201) && !(a.Status == 503 && a.RetryAfter)).ToList();
        Assert.True(wrong.Count == 0, string.Join('\n', wrong.Take(10).Select(a => $"{a.What} -> {a.Status} {a.Body}"))
            + "\n" + string.Join('\n', Api.Logs.Lines.Where(l => l.StartsWith("Error")).Take(3)));
        Assert.Contains(_answers, a => a.Status == 503);
        // A create answered 503 is safe to repeat: with its Idempotency-Key it is created once (or was, and is replayed).
        await Parallel.ForEachAsync(creates.Where(c => c.Value != 201), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (create, _) =>
        {
            var key = create.Key;
            using var again = new HttpRequestMessage(HttpMethod.Post, "/api/v1/incidents")
            {
                Content = JsonContent.Create(new { priority = "routine_special", title = "Stream " + key }),
            };
            again.Headers.Add("Idempotency-Key", key);
            using var answer = await Admin.SendAsync(again);
            Assert.Equal(HttpStatusCode.Created, answer.StatusCode);
        });

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
        Assert.Equal(Incidents + acknowledged.Count + 1 + creates.Count, await db.ExecuteScalarAsync<int>("select count(*) from incidents")); // none from the outage, each stream create once
    }

    private sealed record Answer(string What, int Status, bool RetryAfter, string Body);

    private readonly System.Collections.Concurrent.ConcurrentQueue<Answer> _answers = new();

    /// <summary>Acknowledgements and creates, one after another, until cancelled; returns each create's key and last status.</summary>
    private async Task<Dictionary<string, int>> StreamAsync(IReadOnlyList<Guid> acknowledged, CancellationToken stop)
    {
        var creates = new Dictionary<string, int>();
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            HttpRequestMessage request;
            string what;
            if (i % 2 == 0)
            {
                var id = acknowledged[i / 2 % acknowledged.Count];
                (what, request) = ($"ack {id}", new HttpRequestMessage(HttpMethod.Post, $"/api/v1/incidents/{id}/ack"));
            }
            else
            {
                var key = $"stream-{i}";
                (what, request) = ($"create {key}", new HttpRequestMessage(HttpMethod.Post, "/api/v1/incidents")
                {
                    Content = JsonContent.Create(new { priority = "routine_special", title = "Stream " + key }),
                });
                request.Headers.Add("Idempotency-Key", key);
            }
            using (request)
            {
                try
                {
                    using var response = await (i % 2 == 0 ? GascoAdmin : Admin).SendAsync(request, CancellationToken.None);
                    var status = (int)response.StatusCode;
                    _answers.Enqueue(new Answer(what, status, response.Headers.RetryAfter is not null, await response.Content.ReadAsStringAsync()));
                    if (i % 2 == 1) creates[what["create ".Length..]] = status;
                }
                catch (HttpRequestException e)
                {
                    _answers.Enqueue(new Answer(what, 0, false, e.Message));
                }
            }
            await Task.Delay(20, CancellationToken.None); // a steady client, not a flood: a few hundred requests through the outage
        }
        return creates;
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
