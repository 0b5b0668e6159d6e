using System.Reflection;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Dispatch.Testing;

namespace Dispatch.Bench;

public sealed record BenchOptions(string Scenario, int Incidents, int Concurrency, int PgbenchSeconds, int Files, int Records,
    int Silos = 1, bool KillSilo = false, int Pending = 0, int IdleSeconds = 30, int Warmup = 5000, bool Statements = false)
{
    public static BenchOptions Parse(string[] args)
    {
        int Get(string name, int fallback) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : fallback;
        var scenario = Array.IndexOf(args, "--scenario") is var s and >= 0 && s + 1 < args.Length ? args[s + 1] : "incidents";
        return new BenchOptions(scenario, Get("--incidents", 500), Get("--concurrency", 8), Get("--pgbench-seconds", 10), Get("--files", 200),
            Get("--records", 50), Get("--silos", 1), args.Contains("--kill-silo"), Get("--pending", 0), Get("--idle-seconds", 30),
            Get("--warmup", 5000), args.Contains("--statements"));
    }
}

/// <summary>
/// Raises incidents against a real Api and Silo on a throwaway PostgreSQL, each for one company with one responder
/// and a webhook channel served here, and measures creation throughput and create-to-first-delivery latency; then
/// runs pgbench on the same cluster as the reference figure.
/// </summary>
internal sealed class Harness(BenchOptions options, TextWriter output)
{
    private const string AdminEmail = "bench@dispatch.local";
    private const string AdminPassword = "measuring every delivery";

    public async Task<int> RunAsync()
    {
        var binDir = await PostgresBinaries.FindAsync() ?? throw new InvalidOperationException(PostgresBinaries.InstallHelp);
        var root = Path.Combine(Path.GetTempPath(), "dispatch-bench-" + Environment.ProcessId);
        var postgres = new EmbeddedPostgres(binDir, root);
        await postgres.StartAsync();
        var processes = new List<Process>();
        try
        {
            await postgres.EnsureDatabaseAsync("dispatch");
            var receiver = await WebhookSink.StartAsync();
            // The channels scenario's stand-ins for Twilio and Telegram, speaking their wire formats; the Silos are pointed at them.
            await using var twilio = options.Scenario == "channels" ? await FakeTwilio.StartAsync() : null;
            await using var telegram = options.Scenario == "channels" ? await FakeTelegram.StartAsync() : null;
            await using var mail = options.Scenario == "channels" ? await MailServer.StartAsync(secured: true) : null; // STARTTLS and a login, as a relay demands
            await using var notifier = options.Scenario == "eido" ? await FakeEidoNotifier.StartAsync() : null;
            var apiPort = LoopbackPort.Free();
            var environment = new Dictionary<string, string>
            {
                ["ConnectionStrings__dispatch"] = postgres.ConnectionString("dispatch"),
                ["Dispatch__Encryption__ActiveKeyId"] = "bench",
                ["Dispatch__Encryption__Keys__bench"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
                ["Dispatch__Auth__SigningKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
                ["Dispatch__Bootstrap__AgencyName"] = "Bench PSAP",
                ["Dispatch__Bootstrap__AdminEmail"] = AdminEmail,
                ["Dispatch__Bootstrap__AdminPassword"] = AdminPassword,
                ["Dispatch__PublicUrl"] = $"http://127.0.0.1:{apiPort}",
                ["Dispatch__Outbound__AllowedNetworks"] = "127.0.0.0/8", // the bench's receivers listen on loopback
                ["Dispatch__Cfs__InboxRoot"] = root,
                ["Logging__LogLevel__Default"] = "Warning",
                // The EIDO scenario's notifier is ws:// on loopback, which only Development accepts (Production takes wss:// only).
                ["DOTNET_ENVIRONMENT"] = options.Scenario == "eido" ? "Development" : "Production",
                ["ASPNETCORE_ENVIRONMENT"] = options.Scenario == "eido" ? "Development" : "Production",
            };
            foreach (var (key, value) in (twilio?.HostSettings() ?? []).Concat(telegram?.HostSettings() ?? []).Concat(mail?.HostSettings() ?? []))
                if (value is not null) environment[key.Replace(":", "__")] = value;
            processes.Add(Start(BuiltProjects.Dll("Dispatch.Api"), $"http://127.0.0.1:{apiPort}", environment));
            var silos = new List<Process>();
            for (var i = 0; i < Math.Max(1, options.Silos); i++)
            {
                // Each silo its own Orleans ports; they form one cluster through the membership table.
                var siloEnvironment = new Dictionary<string, string>(environment)
                {
                    ["Dispatch__Orleans__SiloPort"] = LoopbackPort.Free().ToString(), ["Dispatch__Orleans__GatewayPort"] = LoopbackPort.Free().ToString(),
                };
                silos.Add(Start(BuiltProjects.Dll("Dispatch.Silo"), $"http://127.0.0.1:{LoopbackPort.Free()}", siloEnvironment));
            }
            processes.AddRange(silos);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}") };
            await WaitHealthyAsync(http);
            if (options.Scenario == "cfs") return await RunCfsAsync(http, binDir, postgres, root);

            var (company, companyHttp) = await SetUpAsync(http, receiver.Url);
            await ConnectCommandSystemAsync(http, postgres.ConnectionString("dispatch"), receiver.CallbackUrl);
            if (options.Scenario == "count") return await RunCountAsync(http, company, receiver, postgres);
            if (options.Scenario == "channels") return await RunChannelsAsync(http, companyHttp, company, receiver, twilio!, telegram!, mail!, binDir, postgres);
            if (options.Scenario == "eido") return await RunEidoAsync(http, company, receiver, notifier!, processes, binDir, postgres);
            if (options.Pending > 0)
            {
                // Deadlines that stay pending throughout (irod incidents under a one-hour rule), so the engine holds this many
                // timers and reminders while the measured ones fall due.
                output.WriteLine($"Raising {options.Pending} incidents whose deadlines stay pending (one hour)…");
                await Parallel.ForEachAsync(Enumerable.Range(0, options.Pending), new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency },
                    async (i, ct) => (await http.PostAsJsonAsync("/api/v1/incidents",
                        new { priority = "irod", title = $"Pending incident {i}", agencyIds = new[] { company } }, ct)).EnsureSuccessStatusCode());
            }
            if (options.Warmup > 0)
            {
                // The processes start cold: until the JIT has compiled the hot paths at their final tier, each incident costs several
                // times its steady-state CPU. Warm-up incidents go the same way (created, delivered, acknowledged, called back) and
                // are not measured; none is left to escalate during the measured run.
                output.WriteLine($"Warming up: {options.Warmup} incidents, each acknowledged, not measured…");
                var warm = new ConcurrentBag<Guid>();
                await Parallel.ForEachAsync(Enumerable.Range(0, options.Warmup), new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency },
                    async (i, ct) =>
                    {
                        var id = await RaiseAsync(http, company, $"Warm-up incident {i}", ct);
                        using var ack = await companyHttp.PostAsync($"/api/v1/incidents/{id}/ack", null, ct);
                        ack.EnsureSuccessStatusCode();
                        warm.Add(id);
                    });
                var warmDeadline = DateTime.UtcNow.AddMinutes(2);
                while (warm.Any(id => !receiver.FirstArrival.ContainsKey(id) || !receiver.Callbacks.ContainsKey(id)) && DateTime.UtcNow < warmDeadline)
                    await Task.Delay(100);
                foreach (var id in warm) receiver.Callbacks.TryRemove(id, out _);
            }
            await using var statistics = new Npgsql.NpgsqlConnection(postgres.ConnectionString("dispatch"));
            if (options.Statements)
            {
                await statistics.OpenAsync();
                await ResetStatementsAsync(statistics);
            }
            output.WriteLine($"Raising {options.Incidents} incidents, {options.Concurrency} at a time; the company acknowledges every other one at once, " +
                $"the rest escalate after {AckTimeoutSeconds} s…");
            var created = new ConcurrentDictionary<Guid, long>();
            var acked = new ConcurrentDictionary<Guid, long>();
            var createLatencies = new ConcurrentBag<double>();
            var cpuBefore = CpuTime(processes);
            var apiCpuBefore = CpuTime([processes[0]]);
            var started = Stopwatch.GetTimestamp();
            await Parallel.ForEachAsync(Enumerable.Range(0, options.Incidents), new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency },
                async (i, ct) =>
                {
                    var t0 = Stopwatch.GetTimestamp();
                    var id = await RaiseAsync(http, company, $"Bench incident {i}", ct);
                    created[id] = t0;
                    createLatencies.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                    if (i % 2 == 1)
                    {
                        var a0 = Stopwatch.GetTimestamp();
                        using var ack = await companyHttp.PostAsync($"/api/v1/incidents/{id}/ack", null, ct);
                        ack.EnsureSuccessStatusCode();
                        acked[id] = a0;
                    }
                });
            var createSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (created.Keys.Count(receiver.FirstArrival.ContainsKey) < options.Incidents && DateTime.UtcNow < deadline) await Task.Delay(50);
            var allDelivered = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var cpuPerIncident = (CpuTime(processes) - cpuBefore).TotalMilliseconds / options.Incidents;
            var apiCpuPerIncident = (CpuTime([processes[0]]) - apiCpuBefore).TotalMilliseconds / options.Incidents;
            var toDelivery = created.Where(c => receiver.FirstArrival.ContainsKey(c.Key))
                .Select(c => Stopwatch.GetElapsedTime(c.Value, receiver.FirstArrival[c.Key]).TotalMilliseconds).ToList();

            output.WriteLine();
            output.WriteLine($"incidents created            {options.Incidents} in {createSeconds:F1} s = {options.Incidents / createSeconds:F1} incidents/s");
            output.WriteLine($"create request latency (ms)  {Percentiles(createLatencies.ToList())}");
            output.WriteLine($"delivered                    {toDelivery.Count}/{options.Incidents}, all within {allDelivered:F1} s of the first request");
            output.WriteLine($"create-to-first-delivery (ms) {Percentiles(toDelivery)}");
            output.WriteLine($"CPU per incident             {cpuPerIncident:F1} ms (the Api and every Silo process, from the first create to the last first delivery; every other incident acknowledged)");
            output.WriteLine($"  of which the Api           {apiCpuPerIncident:F1} ms, the Silo(s) {cpuPerIncident - apiCpuPerIncident:F1} ms");

            await using var db = new Npgsql.NpgsqlConnection(postgres.ConnectionString("dispatch"));
            await db.OpenAsync();
            var pending = await ScalarAsync(db, """
                select count(*) from notifications
                where ack_status = 'pending' and escalation_cancelled_at is null and escalated_at is null and escalation_due_at is not null
                """);
            DateTimeOffset? killedAt = null;
            if (options.KillSilo && silos.Count > 1)
            {
                // kill -9 one silo while every measured deadline is still ahead: its grains' deadlines must fire on the others.
                silos[^1].Kill(entireProcessTree: true);
                killedAt = DateTimeOffset.UtcNow;
                output.WriteLine($"killed one of {silos.Count} silos (kill -9) before the deadlines fell due");
            }
            while (receiver.Callbacks.Count < acked.Count && DateTime.UtcNow < deadline.AddMinutes(1)) await Task.Delay(50);
            var toCallback = acked.Where(a => receiver.Callbacks.ContainsKey(a.Key))
                .Select(a => Stopwatch.GetElapsedTime(a.Value, receiver.Callbacks[a.Key]).TotalMilliseconds).ToList();
            output.WriteLine($"command callbacks            {toCallback.Count}/{acked.Count} acknowledgements");
            output.WriteLine($"ack-to-callback (ms)         {Percentiles(toCallback)}");

            var unacked = options.Incidents - acked.Count;
            output.WriteLine($"pending deadlines            {pending} after the deliveries; waiting for {unacked} escalations…");
            var escalationDeadline = DateTime.UtcNow.AddSeconds(AckTimeoutSeconds + 120);
            while (await ScalarAsync(db, "select count(*) from incident_communications where communication_type = 'escalation'") < unacked
                   && DateTime.UtcNow < escalationDeadline)
                await Task.Delay(200);
            var lateness = await LatenessAsync(db);
            output.WriteLine($"escalations fired            {lateness.Count}/{unacked}");
            output.WriteLine($"escalation lateness (ms)     {Percentiles(lateness)}   (step taken minus deadline, Silo clock{(killedAt is null ? "" : ", after the kill")})");
            var nextTier = await NextTierDueAsync(db);
            var arrivalDeadline = DateTime.UtcNow.AddSeconds(60);
            while (nextTier.Keys.Count(receiver.ArrivedAt.ContainsKey) < nextTier.Count && DateTime.UtcNow < arrivalDeadline) await Task.Delay(100);
            var deadlineToMessage = nextTier.Where(n => receiver.ArrivedAt.ContainsKey(n.Key))
                .Select(n => (receiver.ArrivedAt[n.Key] - n.Value).TotalMilliseconds).ToList();
            output.WriteLine($"deadline-to-next-tier message (ms) {Percentiles(deadlineToMessage)}   ({deadlineToMessage.Count}/{nextTier.Count} received)");

            if (options.Statements)
            {
                output.WriteLine("statements per incident, by PostgreSQL's execution time (the measured incidents, their escalations and callbacks):");
                await PrintStatementsAsync(statistics, options.Incidents, "", byTime: true);
            }
            var tps = await PgbenchAsync(binDir, postgres);
            output.WriteLine($"reference: pgbench TPC-B-like, 4 clients, {options.PgbenchSeconds} s = {tps:F0} tps");
            output.WriteLine($"ratio: incidents/s per 1000 pgbench tps = {options.Incidents / createSeconds / tps * 1000:F2}");
            await receiver.DisposeAsync();
            return toDelivery.Count == options.Incidents && toCallback.Count == acked.Count && lateness.Count == unacked ? 0 : 1;
        }
        finally
        {
            foreach (var p in processes) { if (!p.HasExited) p.Kill(entireProcessTree: true); p.WaitForExit(); }
            await postgres.StopAsync();
            try { Directory.Delete(root, true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// The outside count, from PostgreSQL's own statistics: transactions per second with nothing to do, then N incidents raised one
    /// after another (one company, one responder and its admin, one webhook channel) and what they cost in commits, rollbacks and
    /// index scans once every first delivery has arrived. Statistics reach <c>pg_stat_*</c> when a backend goes idle (within 10 s),
    /// so each reading waits for that, and the idle rate times the wait is taken off the incidents' figures.
    /// </summary>
    private async Task<int> RunCountAsync(HttpClient http, Guid company, WebhookSink receiver, EmbeddedPostgres postgres)
    {
        await using var db = new Npgsql.NpgsqlConnection(postgres.ConnectionString("dispatch"));
        await db.OpenAsync();
        var settle = TimeSpan.FromSeconds(12);
        await Task.Delay(3 * settle); // the set-up's own statistics arrive, the silos' start-up reads are over
        await ResetStatementsAsync(db);
        var idleFrom = await StatisticsAsync(db);
        var idleClock = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(options.IdleSeconds));
        var idleTo = await StatisticsAsync(db);
        var idleSeconds = idleClock.Elapsed.TotalSeconds;
        var idleCommits = (idleTo.Commits - idleFrom.Commits) / idleSeconds;
        var idleRollbacks = (idleTo.Rollbacks - idleFrom.Rollbacks) / idleSeconds;
        output.WriteLine($"idle: {idleCommits:F2} commits/s + {idleRollbacks:F2} rollbacks/s over {idleSeconds:F0} s ({options.Silos} silo(s), the Api); statements:");
        await PrintStatementsAsync(db, idleSeconds, "/s");
        await ResetStatementsAsync(db);

        var before = await StatisticsAsync(db);
        var clock = Stopwatch.StartNew();
        var ids = new List<Guid>();
        for (var i = 0; i < options.Incidents; i++)
        {
            ids.Add(await RaiseAsync(http, company, $"Counted incident {i}"));
        }
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (ids.Count(receiver.FirstArrival.ContainsKey) < ids.Count && DateTime.UtcNow < deadline) await Task.Delay(50);
        var busySeconds = clock.Elapsed.TotalSeconds;
        await Task.Delay(settle);
        var after = await StatisticsAsync(db);
        var elapsed = clock.Elapsed.TotalSeconds;
        double PerIncident(long delta, double idlePerSecond) => (delta - idlePerSecond * elapsed) / ids.Count;
        output.WriteLine($"{ids.Count} incidents raised one at a time, every first delivery in {busySeconds:F1} s; idle activity over {elapsed:F0} s taken off:");
        output.WriteLine($"  commits per incident        {PerIncident(after.Commits - before.Commits, idleCommits):F1}");
        output.WriteLine($"  rollbacks per incident      {PerIncident(after.Rollbacks - before.Rollbacks, idleRollbacks):F1}");
        output.WriteLine($"  index scans per incident    {(after.IndexScans.Values.Sum() - before.IndexScans.Values.Sum()) / (double)ids.Count:F1} (not idle-corrected), by table:");
        foreach (var (table, scans) in after.IndexScans.Select(t => (t.Key, t.Value - before.IndexScans.GetValueOrDefault(t.Key))).Where(t => t.Item2 > 0)
                     .OrderByDescending(t => t.Item2).Take(12))
            output.WriteLine($"    {table,-32} {scans / (double)ids.Count:F1}");
        output.WriteLine("  statements per incident (idle ones included):");
        await PrintStatementsAsync(db, ids.Count, "");
        await receiver.DisposeAsync();
        return ids.All(receiver.FirstArrival.ContainsKey) ? 0 : 1;
    }

    /// <summary>The statements pg_stat_statements saw since its last reset (the 25 called most, or with <paramref name="byTime"/> the 25 that took longest), per <paramref name="per"/> (seconds or incidents).</summary>
    private async Task PrintStatementsAsync(Npgsql.NpgsqlConnection db, double per, string unit, bool byTime = false)
    {
        await using var command = new Npgsql.NpgsqlCommand($"""
            select calls, total_exec_time, regexp_replace(left(query, 110), '\s+', ' ', 'g') from pg_stat_statements
            where dbid = (select oid from pg_database where datname = current_database()) and query not like '%pg_stat%'
            order by {(byTime ? "total_exec_time" : "calls")} desc limit 25
            """, db);
        await using var reader = await command.ExecuteReaderAsync();
        var (total, totalMs) = (0L, 0.0);
        var lines = new List<string>();
        while (await reader.ReadAsync())
        {
            total += reader.GetInt64(0);
            totalMs += reader.GetDouble(1);
            lines.Add($"    {reader.GetInt64(0) / per,7:F2}{unit} {reader.GetDouble(1) / per,7:F3} ms{unit}  {reader.GetString(2)}");
        }
        foreach (var line in lines) output.WriteLine(line);
        output.WriteLine($"    {total / per,7:F2}{unit} {totalMs / per,7:F3} ms{unit}  in all (top 25; time is PostgreSQL's execution time)");
    }

    private sealed record Statistics(long Commits, long Rollbacks, Dictionary<string, long> IndexScans);

    private static async Task<Statistics> StatisticsAsync(Npgsql.NpgsqlConnection db)
    {
        var commits = await ScalarAsync(db, "select xact_commit from pg_stat_database where datname = current_database()");
        var rollbacks = await ScalarAsync(db, "select xact_rollback from pg_stat_database where datname = current_database()");
        var scans = new Dictionary<string, long>();
        await using (var command = new Npgsql.NpgsqlCommand("select relname, coalesce(idx_scan, 0) + coalesce(seq_scan, 0) from pg_stat_user_tables", db))
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync()) scans[reader.GetString(0)] = reader.GetInt64(1);
        return new Statistics(commits, rollbacks, scans);
    }

    private const int AckTimeoutSeconds = 30;

    /// <summary>The processor time the Api and the Silo processes have used so far (user and system).</summary>
    private static TimeSpan CpuTime(IEnumerable<Process> processes) =>
        processes.Where(p => !p.HasExited).Aggregate(TimeSpan.Zero, (sum, p) => { p.Refresh(); return sum + p.TotalProcessorTime; });

    /// <summary>
    /// CFS import throughput: F files of R calls each are dropped (renamed in, as a CAD export would) into an inbox the Silo
    /// scans every second; measures from the drop until every file is imported.
    /// </summary>
    private async Task<int> RunCfsAsync(HttpClient http, string binDir, EmbeddedPostgres postgres, string root)
    {
        await LoginAsync(http);
        var inbox = Directory.CreateDirectory(Path.Combine(root, "inbox")).FullName;
        var staging = Directory.CreateDirectory(Path.Combine(root, "staging")).FullName;
        (await http.PostAsJsonAsync("/api/v1/cfs-configurations", new
        {
            name = "bench cad", inboxPath = inbox, pollIntervalSeconds = 1,
            fieldMappings = new
            {
                recordXPath = "/Export/Call", maxRecords = 10_000,
                fields = new Dictionary<string, object>
                {
                    ["externalId"] = new { xpath = "@id" }, ["callerName"] = new { xpath = "Caller" }, ["callerPhone"] = new { xpath = "Phone", transforms = new[] { "digits" } },
                    ["description"] = new { xpath = "Narrative" }, ["address"] = new { xpath = "Street" },
                    ["priority"] = new { xpath = "Priority", map = new Dictionary<string, string> { ["1"] = "irod", ["2"] = "critical", ["*"] = "routine_special" } },
                },
            },
        })).EnsureSuccessStatusCode();

        for (var f = 0; f < options.Files; f++)
        {
            var calls = string.Concat(Enumerable.Range(0, options.Records).Select(r =>
                $"<Call id=\"B-{f}-{r}\"><Caller>Caller {r}</Caller><Phone>+1 555 01{r:D2}</Phone><Narrative><![CDATA[Call {f}/{r}: smoke seen]]></Narrative>" +
                $"<Street>{r} Bench Road</Street><Priority>{r % 3}</Priority></Call>"));
            await File.WriteAllTextAsync(Path.Combine(staging, $"export-{f:D5}.xml"), $"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Export>{calls}</Export>");
        }
        var bytes = Directory.GetFiles(staging).Sum(f => new FileInfo(f).Length);
        output.WriteLine($"Dropping {options.Files} files of {options.Records} calls ({bytes / 1024.0 / 1024.0:F1} MB) into the inbox…");
        var dropped = DateTimeOffset.UtcNow;
        var started = Stopwatch.GetTimestamp();
        foreach (var file in Directory.GetFiles(staging)) File.Move(file, Path.Combine(inbox, Path.GetFileName(file)));

        await using var db = new Npgsql.NpgsqlConnection(postgres.ConnectionString("dispatch"));
        await db.OpenAsync();
        var deadline = DateTime.UtcNow.AddMinutes(10);
        while (await ScalarAsync(db, "select count(*) from cfs_imports where status = 'imported'") < options.Files && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var imported = await ScalarAsync(db, "select count(*) from cfs_imports where status = 'imported'");
        var records = await ScalarAsync(db, "select count(*) from cfs_incidents");
        var perFile = new List<double>();
        double phase;
        await using (var command = new Npgsql.NpgsqlCommand("select completed_at from cfs_imports where status = 'imported'", db))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            var times = new List<DateTime>();
            while (await reader.ReadAsync()) times.Add(reader.GetDateTime(0));
            perFile.AddRange(times.Select(t => (new DateTimeOffset(t, TimeSpan.Zero) - dropped).TotalMilliseconds));
            phase = times.Count > 1 ? (times.Max() - times.Min()).TotalSeconds : 0;
        }

        output.WriteLine();
        output.WriteLine($"files imported               {imported}/{options.Files}, {records} calls");
        output.WriteLine($"drop to all imported         {wall:F1} s = {records / wall:F0} calls/s, {imported / wall:F1} files/s (includes the 1 s poll and the stability check)");
        output.WriteLine($"first to last import commit  {phase:F1} s = {(phase > 0 ? records / phase : 0):F0} calls/s");
        output.WriteLine($"drop-to-imported per file (ms) {Percentiles(perFile)}");
        var tps = await PgbenchAsync(binDir, postgres);
        output.WriteLine($"reference: pgbench TPC-B-like, 4 clients, {options.PgbenchSeconds} s = {tps:F0} tps");
        output.WriteLine($"ratio: imported calls/s (drop to all imported) per 1000 pgbench tps = {records / wall / tps * 1000:F1}");
        return imported == options.Files && records == (long)options.Files * options.Records ? 0 : 1;
    }

    /// <summary>
    /// NG9-1-1 intake: a subscription to a local STA-024 notifier whose mapping raises every EIDO for the company; N events of one
    /// EIDO each are sent with at most C unanswered at a time (a notifier's window), and each is timed from its send to its
    /// eventResponse and to the company's first delivery (at the webhook receiver).
    /// </summary>
    private async Task<int> RunEidoAsync(HttpClient http, Guid company, WebhookSink receiver, FakeEidoNotifier notifier, List<Process> processes,
        string binDir, EmbeddedPostgres postgres)
    {
        (await http.PostAsJsonAsync("/api/v1/eido-subscriptions", new
        {
            name = "bench notifier", notifierUrl = notifier.Url.ToString(),
            mapping = new { rules = new[] { new { type = "*", companies = new[] { company } } }, defaultPriority = "critical" },
        })).EnsureSuccessStatusCode();
        var subscribed = DateTime.UtcNow.AddSeconds(60);
        while (!notifier.Subscribed && DateTime.UtcNow < subscribed) await Task.Delay(50);
        if (!notifier.Subscribed) throw new InvalidOperationException("The subscriber never subscribed to the bench's notifier.");

        output.WriteLine($"Sending {options.Incidents} EIDO events, at most {options.Concurrency} unanswered at a time…");
        var sent = new ConcurrentDictionary<string, (long At, string IncidentId)>();
        var cpuBefore = CpuTime(processes);
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < options.Incidents; i++)
        {
            while (sent.Count - notifier.Answers.Count >= options.Concurrency) await Task.Delay(1);
            var incidentId = $"urn:emergency:uid:incidentid:bench{i:D6}:psap.bench.example";
            var transactionId = Guid.NewGuid().ToString();
            sent[transactionId] = (Stopwatch.GetTimestamp(), incidentId);
            await notifier.SendEventAsync(transactionId, BenchEido(incidentId, i));
        }
        var answerDeadline = DateTime.UtcNow.AddMinutes(2);
        while (notifier.Answers.Count < options.Incidents && DateTime.UtcNow < answerDeadline) await Task.Delay(20);
        var applySeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;

        await using var db = new Npgsql.NpgsqlConnection(postgres.ConnectionString("dispatch"));
        await db.OpenAsync();
        // Each call is raised by its incident's grain right after its event is answered.
        while (await ScalarAsync(db, "select count(*) from cfs_incidents where linked_incident_id is not null") < options.Incidents && DateTime.UtcNow < answerDeadline)
            await Task.Delay(20);
        var incidents = new Dictionary<string, Guid>();
        await using (var command = new Npgsql.NpgsqlCommand("select external_cfs_id, linked_incident_id from cfs_incidents where linked_incident_id is not null", db))
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync()) incidents[reader.GetString(0)] = reader.GetGuid(1);
        var deliveryDeadline = DateTime.UtcNow.AddMinutes(2);
        while (incidents.Values.Count(receiver.FirstArrival.ContainsKey) < options.Incidents && DateTime.UtcNow < deliveryDeadline) await Task.Delay(50);
        var cpuPerEvent = (CpuTime(processes) - cpuBefore).TotalMilliseconds / options.Incidents;
        var answers = notifier.Answers.ToDictionary(a => a.TransactionId);
        var toAnswer = sent.Where(s => answers.ContainsKey(s.Key)).Select(s => Stopwatch.GetElapsedTime(s.Value.At, answers[s.Key].At).TotalMilliseconds).ToList();
        var toDelivery = sent.Values.Where(s => incidents.TryGetValue(s.IncidentId, out var id) && receiver.FirstArrival.ContainsKey(id))
            .Select(s => Stopwatch.GetElapsedTime(s.At, receiver.FirstArrival[incidents[s.IncidentId]]).TotalMilliseconds).ToList();
        var ok = answers.Values.Count(a => a.StatusCode == 200);

        output.WriteLine();
        output.WriteLine($"events answered              {answers.Count}/{options.Incidents} ({ok} with 200) in {applySeconds:F1} s = {answers.Count / applySeconds:F1} events/s");
        output.WriteLine($"event-to-eventResponse (ms)  {Percentiles(toAnswer)}");
        output.WriteLine($"incidents raised             {incidents.Count}; first deliveries {toDelivery.Count}/{options.Incidents}");
        output.WriteLine($"event-to-first-delivery (ms) {Percentiles(toDelivery)}");
        output.WriteLine($"CPU per event                {cpuPerEvent:F1} ms (the Api and every Silo process, from the first event to the last first delivery)");
        var tps = await PgbenchAsync(binDir, postgres);
        output.WriteLine($"reference: pgbench TPC-B-like, 4 clients, {options.PgbenchSeconds} s = {tps:F0} tps");
        output.WriteLine($"ratio: EIDO events/s per 1000 pgbench tps = {answers.Count / applySeconds / tps * 1000:F2}");
        await receiver.DisposeAsync();
        return ok == options.Incidents && toDelivery.Count == options.Incidents ? 0 : 1;
    }

    /// <summary>One EIDO for the bench: a gas leak at a civic address, as a PSAP's call handling system would send it.</summary>
    private static JsonNode BenchEido(string incidentId, int i) => new JsonObject
    {
        ["$id"] = incidentId, ["lastUpdateTimeStamp"] = DateTimeOffset.UtcNow.ToString("O"), ["EIDOVersion"] = "1.0",
        ["reasonForIssueRegistryText"] = "NewIncident", ["issuingElementIdentification"] = "chfe.psap.bench.example",
        ["incidentComponent"] = new JsonObject
        {
            ["$id"] = incidentId + ":incident", ["incidentTypeCommonRegistryText"] = "Fire-Gas", ["incidentTypeInternalText"] = "GAS LEAK",
            ["incidentCommonPriorityNumber"] = 8, ["internalIncidentId"] = $"BENCH-{i:D6}",
        },
        ["locationInformationComponent"] = new JsonArray(new JsonObject
        {
            ["$id"] = incidentId + ":location", ["locationTypeDescriptionRegistryText"] = "IncidentLocation",
            ["locationByValue"] = "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" xmlns:ca=\"urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr\">"
                + $"<ca:civicAddress><ca:HNO>{i % 9000 + 1}</ca:HNO><ca:RD>Bench</ca:RD><ca:STS>Rd</ca:STS><ca:A3>Springfield</ca:A3><ca:A1>IL</ca:A1></ca:civicAddress></presence>",
        }),
        ["notesComponent"] = new JsonArray(new JsonObject { ["$id"] = incidentId + ":note", ["notesActionComments"] = "Odor of gas reported by a neighbour." }),
    };

    private static async Task LoginAsync(HttpClient http)
    {
        var login = await (await http.PostAsJsonAsync("/api/v1/auth/login", new { email = AdminEmail, password = AdminPassword })).Content.ReadFromJsonAsync<JsonObject>();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", login!["accessToken"]!.GetValue<string>());
    }

    /// <summary>Raises a critical incident at the bench's address for <paramref name="company"/>; answers its id.</summary>
    private static async Task<Guid> RaiseAsync(HttpClient http, Guid company, string title, CancellationToken ct = default)
    {
        using var response = await http.PostAsJsonAsync("/api/v1/incidents",
            new { priority = "critical", title, address = "1 Bench Road", agencyIds = new[] { company } }, ct);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>(ct))!["incident"]!["id"]!.GetValue<Guid>();
    }

    /// <summary>pg_stat_statements (loaded by the server, created in the database here) counting from now.</summary>
    private static async Task ResetStatementsAsync(Npgsql.NpgsqlConnection db)
    {
        await using (var extension = new Npgsql.NpgsqlCommand("create extension if not exists pg_stat_statements", db)) await extension.ExecuteNonQueryAsync();
        await ScalarAsync(db, "select count(*) from (select pg_stat_statements_reset()) r");
    }

    private static async Task<long> ScalarAsync(Npgsql.NpgsqlConnection db, string sql)
    {
        await using var command = new Npgsql.NpgsqlCommand(sql, db);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    /// <summary>Fire time minus due time of every escalation step, as the Silo recorded them in the communication log.</summary>
    private static async Task<List<double>> LatenessAsync(Npgsql.NpgsqlConnection db)
    {
        await using var command = new Npgsql.NpgsqlCommand("""
            select (payload_snapshot->>'fired_at')::timestamptz, (payload_snapshot->>'due_at')::timestamptz
            from incident_communications where communication_type = 'escalation'
            """, db);
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<double>();
        while (await reader.ReadAsync()) values.Add((reader.GetDateTime(0) - reader.GetDateTime(1)).TotalMilliseconds);
        return values;
    }

    /// <summary>Each escalated (second-tier) notification and the deadline of the first tier that it answers.</summary>
    private static async Task<Dictionary<Guid, DateTimeOffset>> NextTierDueAsync(Npgsql.NpgsqlConnection db)
    {
        await using var command = new Npgsql.NpgsqlCommand("""
            select n.id, (select min(f.escalation_due_at) from notifications f where f.incident_id = n.incident_id and f.tier = 0)
            from notifications n where n.kind = 'company' and n.tier = 1
            """, db);
        await using var reader = await command.ExecuteReaderAsync();
        var due = new Dictionary<Guid, DateTimeOffset>();
        while (await reader.ReadAsync()) due[reader.GetGuid(0)] = new DateTimeOffset(reader.GetDateTime(1), TimeSpan.Zero);
        return due;
    }

    /// <summary>
    /// A command system taking acknowledgements by callback at the sink. Production refuses plain-http callback URLs, so the
    /// connection is made in poll mode through the API and pointed at the loopback sink in the database.
    /// </summary>
    private static async Task ConnectCommandSystemAsync(HttpClient http, string ownerConnectionString, Uri callbackUrl)
    {
        using var response = await http.PostAsJsonAsync("/api/v1/command-connections", new { name = "bench cad", ackMode = "poll" });
        response.EnsureSuccessStatusCode();
        var id = (await response.Content.ReadFromJsonAsync<JsonObject>())!["connection"]!["id"]!.GetValue<Guid>();
        await using var db = new Npgsql.NpgsqlConnection(ownerConnectionString);
        await db.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("update command_connections set ack_mode = 'callback', public_url = @url where id = @id", db);
        command.Parameters.AddWithValue("url", callbackUrl.ToString());
        command.Parameters.AddWithValue("id", id);
        await command.ExecuteNonQueryAsync();
    }

    private async Task<(Guid Company, HttpClient CompanyHttp)> SetUpAsync(HttpClient http, Uri hookUrl)
    {
        await LoginAsync(http);
        var onboarded = await (await http.PostAsJsonAsync("/api/v1/agencies", new
        {
            name = "Bench Gas", slug = "bench-gas", timezone = "UTC",
            admin = new { email = "ops@bench-gas.example", password = "operating the bench", firstName = "Ops", lastName = "Bench" },
        })).Content.ReadFromJsonAsync<JsonObject>();
        var company = new HttpClient { BaseAddress = http.BaseAddress };
        var companyLogin = await (await company.PostAsJsonAsync("/api/v1/auth/login", new { email = "ops@bench-gas.example", password = "operating the bench" }))
            .Content.ReadFromJsonAsync<JsonObject>();
        company.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", companyLogin!["accessToken"]!.GetValue<string>());
        (await company.PostAsJsonAsync("/api/v1/transport-channels",
            new { transportType = "webhook", name = "bench hook", config = new { url = hookUrl.ToString(), secret = "bench-webhook-secret-0123" } }))
            .EnsureSuccessStatusCode();
        // Two tiers, both the company's admins: every escalation notifies again through the delivery engine.
        (await company.PostAsJsonAsync("/api/v1/escalation-rules", new
        {
            priorityFilter = new[] { "critical" }, ackTimeoutSeconds = AckTimeoutSeconds,
            escalationOrder = new[] { new { roleSlugs = new[] { "company-admin" } }, new { roleSlugs = new[] { "company-admin" } } },
        })).EnsureSuccessStatusCode();
        (await company.PostAsJsonAsync("/api/v1/escalation-rules", new
        {
            priorityFilter = new[] { "irod" }, ackTimeoutSeconds = 3600, escalationOrder = new[] { new { roleSlugs = new[] { "company-admin" } } },
        })).EnsureSuccessStatusCode();
        return (onboarded!["agency"]!["id"]!.GetValue<Guid>(), company);
    }

    /// <summary>
    /// Delivery latency through each channel: the company's admin prefers every channel at once (webhook, SMS, voice, Telegram),
    /// N incidents are raised C at a time, and each channel's first arrival per incident is timed from the create request —
    /// at the webhook receiver, and at the local Twilio and Telegram the Silos send through (a call counts when it is placed).
    /// </summary>
    private async Task<int> RunChannelsAsync(HttpClient http, HttpClient companyHttp, Guid company, WebhookSink receiver, FakeTwilio twilio,
        FakeTelegram telegram, MailServer mail, string binDir, EmbeddedPostgres postgres)
    {
        const string phone = "+15557770000";
        const long chat = 777;
        twilio.Answering[phone] = ""; // answers and listens; presses nothing
        await using var db = new Npgsql.NpgsqlConnection(postgres.ConnectionString("dispatch"));
        await db.OpenAsync();
        Guid admin;
        await using (var find = new Npgsql.NpgsqlCommand("select id from users where email = 'ops@bench-gas.example'", db))
            admin = (Guid)(await find.ExecuteScalarAsync())!;
        var channels = new Dictionary<string, Guid>();
        foreach (var type in new[] { "email", "sms", "voice", "telegram" })
        {
            using var created = await companyHttp.PostAsJsonAsync("/api/v1/transport-channels", new { transportType = type, name = $"bench {type}", config = new { } });
            created.EnsureSuccessStatusCode();
            channels[type] = (await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        }
        var hook = (await companyHttp.GetFromJsonAsync<JsonObject>("/api/v1/transport-channels"))!["items"]!.AsArray()
            .Single(c => c!["transportTypeSlug"]!.GetValue<string>() == "webhook")!["id"]!.GetValue<Guid>();
        (await companyHttp.PutAsJsonAsync($"/api/v1/users/{admin}/transport-preferences", new
        {
            preferences = new object[]
            {
                new { transportChannelId = hook, deliveryMode = "all" },
                new { transportChannelId = channels["email"], deliveryMode = "all" }, // to the login address, through the platform's relay
                new { transportChannelId = channels["sms"], deliveryMode = "all", configOverride = new { phone } },
                new { transportChannelId = channels["voice"], deliveryMode = "all", configOverride = new { phone } },
                new { transportChannelId = channels["telegram"], deliveryMode = "all", configOverride = new { chatId = chat.ToString() } },
            },
        })).EnsureSuccessStatusCode();

        output.WriteLine($"Raising {options.Incidents} incidents, {options.Concurrency} at a time, each delivered on five channels at once…");
        var created0 = new ConcurrentDictionary<Guid, long>();
        var titles = new ConcurrentDictionary<string, Guid>();
        var started = Stopwatch.GetTimestamp();
        await Parallel.ForEachAsync(Enumerable.Range(0, options.Incidents), new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency },
            async (i, ct) =>
            {
                var t0 = Stopwatch.GetTimestamp();
                var title = $"Channel bench incident {i:D6}";
                var id = await RaiseAsync(http, company, title, ct);
                created0[id] = t0;
                titles[title] = id;
            });
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while ((created0.Keys.Count(receiver.FirstArrival.ContainsKey) < options.Incidents || twilio.Messages.Count < options.Incidents
                || twilio.Calls.Count < options.Incidents || telegram.Messages.Count < options.Incidents
                || mail.Messages().Count < options.Incidents) && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;

        Guid? ByTitle(string text) => System.Text.RegularExpressions.Regex.Match(text, "Channel bench incident [0-9]{6}") is { Success: true } m
            && titles.TryGetValue(m.Value, out var id) ? id : null;
        var voiceDeliveries = new Dictionary<Guid, Guid>();
        await using (var voice = new Npgsql.NpgsqlCommand("select id, incident_id from notification_deliveries where transport_type_slug = 'voice'", db))
        await using (var reader = await voice.ExecuteReaderAsync())
            while (await reader.ReadAsync()) voiceDeliveries[reader.GetGuid(0)] = reader.GetGuid(1);
        List<double> Latencies(IEnumerable<(Guid? Incident, long At)> arrivals) => arrivals
            .Where(a => a.Incident is { } id && created0.ContainsKey(id)).GroupBy(a => a.Incident!.Value)
            .Select(g => Stopwatch.GetElapsedTime(created0[g.Key], g.Min(a => a.At)).TotalMilliseconds).ToList();
        var rows = new (string Name, List<double> Values)[]
        {
            ("webhook", Latencies(receiver.FirstArrival.Select(a => ((Guid?)a.Key, a.Value)))),
            ("email (SMTP, STARTTLS)", Latencies(mail.Messages().Select(m => (ByTitle(m.Subject + "\n" + m.Decoded), m.At)))),
            ("sms (Twilio)", Latencies(twilio.Messages.Select(m => (ByTitle(m.Body), m.At)))),
            ("voice (Twilio, placed)", Latencies(twilio.Calls.Select(c => (
                Guid.TryParse(System.Web.HttpUtility.ParseQueryString(new Uri(c.Url).Query)["d"], out var d) && voiceDeliveries.TryGetValue(d, out var i) ? i : (Guid?)null, c.At)))),
            ("telegram", Latencies(telegram.Messages.Select(m => (ByTitle(m.Text), m.At)))),
        };
        output.WriteLine();
        output.WriteLine($"incidents created            {options.Incidents}, every channel's message within {seconds:F1} s of the first request");
        foreach (var (name, values) in rows)
            output.WriteLine($"create-to-{name,-24} {values.Count}/{options.Incidents}  (ms) {Percentiles(values)}");
        var tps = await PgbenchAsync(binDir, postgres);
        output.WriteLine($"reference: pgbench TPC-B-like, 4 clients, {options.PgbenchSeconds} s = {tps:F0} tps");
        return rows.All(r => r.Values.Count == options.Incidents) ? 0 : 1;
    }

    private async Task<double> PgbenchAsync(string binDir, EmbeddedPostgres postgres)
    {
        var cs = new Npgsql.NpgsqlConnectionStringBuilder(postgres.ConnectionString("dispatch"));
        var environment = new Dictionary<string, string> { ["PGPASSWORD"] = cs.Password! };
        string[] connect = ["-h", "127.0.0.1", "-p", cs.Port.ToString(), "-U", cs.Username!];
        await RunAsync(Path.Combine(binDir, "pgbench"), [.. connect, "-i", "-s", "1", "-q", "pgbench_ref"], environment, create: true, postgres);
        var result = await RunAsync(Path.Combine(binDir, "pgbench"),
            [.. connect, "-c", "4", "-j", "2", "-T", options.PgbenchSeconds.ToString(), "pgbench_ref"], environment, create: false, postgres);
        return double.Parse(Regex.Match(result, @"tps = ([\d.]+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<string> RunAsync(string file, string[] args, Dictionary<string, string> environment, bool create, EmbeddedPostgres postgres)
    {
        if (create) await postgres.EnsureDatabaseAsync("pgbench_ref");
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (k, v) in environment) start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{file} failed: {await stderr}");
        return await stdout + await stderr;
    }

    private static Process Start(string dll, string url, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = false, RedirectStandardError = false };
        foreach (var a in new[] { dll, "--urls", url }) start.ArgumentList.Add(a);
        foreach (var (k, v) in environment) start.Environment[k] = v;
        return Process.Start(start)!;
    }

    private static async Task WaitHealthyAsync(HttpClient http)
    {
        for (var i = 0; i < 600; i++)
        {
            try { if ((await http.GetAsync("/health")).IsSuccessStatusCode) return; } catch (HttpRequestException) { }
            await Task.Delay(100);
        }
        throw new TimeoutException("The Api did not become healthy.");
    }

    private static string Percentiles(List<double> values)
    {
        if (values.Count == 0) return "n/a";
        values.Sort();
        double P(double p) => values[Math.Min(values.Count - 1, (int)Math.Ceiling(p / 100 * values.Count) - 1)];
        return $"p50 {P(50):F1}  p95 {P(95):F1}  p99 {P(99):F1}  max {values[^1]:F1}";
    }
}

/// <summary>The webhook endpoint deliveries go to: notes when each incident's first delivery arrived.</summary>
internal sealed class WebhookSink : IAsyncDisposable
{
    private readonly WebApplication _app;

    public ConcurrentDictionary<Guid, long> FirstArrival { get; } = new();
    public ConcurrentDictionary<Guid, long> Callbacks { get; } = new();

    /// <summary>When each notification's first delivery arrived, by the wall clock (to compare with deadlines in the database).</summary>
    public ConcurrentDictionary<Guid, DateTimeOffset> ArrivedAt { get; } = new();
    public Uri Url { get; }
    public Uri CallbackUrl => new(Url, "/callback");

    private WebhookSink(WebApplication app, Uri url) { _app = app; Url = url; }

    public static async Task<WebhookSink> StartAsync()
    {
        var port = LoopbackPort.Free();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var sink = new WebhookSink(app, new Uri($"http://127.0.0.1:{port}/hook"));
        app.MapPost("/hook", async (HttpRequest request) =>
        {
            var now = Stopwatch.GetTimestamp();
            using var body = await JsonDocument.ParseAsync(request.Body);
            sink.FirstArrival.TryAdd(body.RootElement.GetProperty("incident").GetProperty("id").GetGuid(), now);
            sink.ArrivedAt.TryAdd(body.RootElement.GetProperty("notificationId").GetGuid(), DateTimeOffset.UtcNow);
            return Results.Ok();
        });
        app.MapPost("/callback", async (HttpRequest request) =>
        {
            var now = Stopwatch.GetTimestamp();
            using var body = await JsonDocument.ParseAsync(request.Body);
            sink.Callbacks.TryAdd(body.RootElement.GetProperty("incidentId").GetGuid(), now);
            return Results.Ok();
        });
        await app.StartAsync();
        return sink;
    }

    public async ValueTask DisposeAsync() { await _app.StopAsync(); await _app.DisposeAsync(); }
}

/// <summary>The hosts the bench starts, built beside it (their paths recorded at build time).</summary>
internal static class BuiltProjects
{
    public static string Dll(string project)
    {
        var path = typeof(BuiltProjects).Assembly.GetCustomAttributes<System.Reflection.AssemblyMetadataAttribute>().Single(a => a.Key == project).Value!;
        return File.Exists(path) ? path : throw new FileNotFoundException($"{project} is not built at {path}; run `dotnet build -c Release` first.", path);
    }
}
