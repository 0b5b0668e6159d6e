using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dispatch.Tests.Infrastructure;

namespace Dispatch.Tests.Deliveries;

public sealed class DeliveryTraceTests : IdentityHost
{
    private readonly string _mail = Dispatch.Testing.TestRun.NewFolder("trace-");

    // The silo runs in this process (so the listener below sees its grains' spans) and drops mail in a folder.
    protected override IReadOnlyDictionary<string, string?> HostExtras => new Dictionary<string, string?> { ["Dispatch:Email:PickupDirectory"] = _mail };

    [Fact]
    public async Task The_silos_send_span_continues_the_trace_of_the_creating_request()
    {
        var spans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "Dispatch.Deliveries",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => { lock (spans) spans.Add(a); },
        };
        ActivitySource.AddActivityListener(listener);
        var (gasco, email, password) = await OnboardCompanyAsync("gasco");
        using var company = As("Bearer " + (await LoginAsync(email, password)).AccessToken);
        (await company.PostAsJsonAsync("/api/v1/transport-channels", new { transportType = "email", name = "mail", config = new { } })).EnsureSuccessStatusCode();
        using var admin = await AsAdminAsync();
        var traceId = ActivityTraceId.CreateRandom();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/incidents")
        {
            Content = JsonContent.Create(new { priority = "critical", title = "Traced", agencyIds = new[] { gasco } }),
        };
        request.Headers.Add("traceparent", $"00-{traceId.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        (await admin.SendAsync(request)).EnsureSuccessStatusCode();

        await Wait.UntilAsync(() => { lock (spans) return Task.FromResult(spans.Any(s => s.OperationName == "deliver email" && s.TraceId == traceId)); },
            TimeSpan.FromSeconds(30));

        var span = Assert.Single(spans, s => s.OperationName == "deliver email" && s.TraceId == traceId);
        Assert.Equal("sent", span.GetTagItem("dispatch.delivery.result"));
        Assert.Single(Directory.GetFiles(_mail, "*.eml"));
        Directory.Delete(_mail, true);
    }

    [Fact]
    public async Task Database_commands_are_traced_inside_a_request_and_never_as_lone_traces_of_the_background_scans()
    {
        // What the hosts' telemetry pipeline would export: every Npgsql span, through the hosts' own processor.
        var pipeline = new Dispatch.ServiceDefaults.Telemetry.LoneQueriesUnrecorded();
        var commands = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStarted = pipeline.OnStart,
            ActivityStopped = a => { if (a.Recorded) lock (commands) commands.Add(a); },
        };
        ActivitySource.AddActivityListener(listener);
        using var admin = await AsAdminAsync();

        // A request: its queries are spans of its trace.
        var traceId = ActivityTraceId.CreateRandom();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/users");
        request.Headers.Add("traceparent", $"00-{traceId.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        (await admin.SendAsync(request)).EnsureSuccessStatusCode();
        await Wait.UntilAsync(() => { lock (commands) return Task.FromResult(commands.Any(c => c.TraceId == traceId)); }, TimeSpan.FromSeconds(10));

        // The silo's scans poll the database every second meanwhile; none of their queries is a trace of its own.
        var before = await CountScansAsync();
        await Wait.UntilAsync(async () => await CountScansAsync() >= before + 3, TimeSpan.FromSeconds(30));
        lock (commands) Assert.DoesNotContain(commands, c => c.Parent is null && c.ParentSpanId == default);
        lock (commands) Assert.Contains(commands, c => c.TraceId == traceId); // the request's queries are exported
    }

    // How many statements the server has run so far: the scans keep it moving while nothing else happens.
    private async Task<long> CountScansAsync()
    {
        await using var connection = new Npgsql.NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("select xact_commit + xact_rollback from pg_stat_database where datname = current_database()", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
