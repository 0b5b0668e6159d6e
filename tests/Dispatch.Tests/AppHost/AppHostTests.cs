extern alias apphost;
using System.Net;
using apphost::Dispatch.AppHost;
using System.Runtime.InteropServices;
using Dapper;
using Dispatch.Tests.Infrastructure;
using Npgsql;

namespace Dispatch.Tests.AppHost;

/// <summary>The one-command start: the real AppHost process with its embedded PostgreSQL, Silo and Api.</summary>
public sealed class AppHostTests : IDisposable
{
    private static readonly TimeSpan StartPatience = TimeSpan.FromSeconds(150);
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "dispatch-apphost-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task Runs_healthy_restarts_a_crashed_child_stops_cleanly_on_ctrl_c_and_reuses_its_data()
    {
        string firstLogin;
        await using (var host = AppHostProcess.Start(_dataDir, LoopbackPort.Free()))
        {
            await host.WaitForLineAsync("Press Ctrl\\+C to stop", StartPatience);
            firstLogin = (await host.WaitForLineAsync(@"Login:\s+(\S+ / \S+)", TimeSpan.Zero)).Groups[1].Value;
            using var http = new HttpClient { BaseAddress = host.ApiUrl };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/openapi/v1.json")).StatusCode);
            var apiPid = int.Parse((await host.WaitForLineAsync(@"api started \(pid (\d+)\)", TimeSpan.Zero)).Groups[1].Value);
            var siloPid = int.Parse((await host.WaitForLineAsync(@"silo started \(pid (\d+)\)", TimeSpan.Zero)).Groups[1].Value);
            var postgresPid = PostmasterPid();
            Assert.Equal(1, await CountAsync(host, "select count(*) from agencies"));

            // A crash is reported and the child comes back.
            var mark = host.LineCount;
            System.Diagnostics.Process.GetProcessById(apiPid).Kill();
            await host.WaitForLineAsync($@"api crashed \(pid {apiPid}", TimeSpan.FromSeconds(30), mark);
            var newApiPid = int.Parse((await host.WaitForLineAsync(@"api started \(pid (\d+)\)", TimeSpan.FromSeconds(30), mark)).Groups[1].Value);
            await WaitUntilAsync(async () => (await TryGetAsync(http, "/health")) == HttpStatusCode.OK, TimeSpan.FromSeconds(60));

            host.Signal(PosixSignal.SIGINT);
            Assert.Equal(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(90)));

            Assert.Contains("[apphost] PostgreSQL stopped", host.Output);
            foreach (var pid in new[] { newApiPid, siloPid, postgresPid })
                Assert.False(AppHostProcess.IsRunning(pid), $"process {pid} outlived the AppHost");
            Assert.False(File.Exists(Path.Combine(_dataDir, "postgres", "data", "postmaster.pid")));
        }

        await using (var again = AppHostProcess.Start(_dataDir, LoopbackPort.Free()))
        {
            await again.WaitForLineAsync("Press Ctrl\\+C to stop", StartPatience);
            Assert.Equal(firstLogin, (await again.WaitForLineAsync(@"Login:\s+(\S+ / \S+)", TimeSpan.Zero)).Groups[1].Value);
            Assert.Equal(1, await CountAsync(again, "select count(*) from agencies"));
            Assert.Equal(1, await CountAsync(again, "select count(*) from users"));
            again.Signal(PosixSignal.SIGTERM);
            Assert.Equal(0, await again.WaitForExitAsync(TimeSpan.FromSeconds(90)));
        }
    }

    [Fact]
    public async Task Killing_the_apphost_outright_takes_its_children_down_and_the_next_start_recovers()
    {
        int apiPid, siloPid;
        await using (var host = AppHostProcess.Start(_dataDir, LoopbackPort.Free()))
        {
            await host.WaitForLineAsync("Press Ctrl\\+C to stop", StartPatience);
            apiPid = int.Parse((await host.WaitForLineAsync(@"api started \(pid (\d+)\)", TimeSpan.Zero)).Groups[1].Value);
            siloPid = int.Parse((await host.WaitForLineAsync(@"silo started \(pid (\d+)\)", TimeSpan.Zero)).Groups[1].Value);

            host.KillHard();
            await host.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }

        await WaitUntilAsync(() => Task.FromResult(!AppHostProcess.IsRunning(apiPid) && !AppHostProcess.IsRunning(siloPid)), TimeSpan.FromSeconds(30));

        // The PostgreSQL left running by the killed AppHost is stopped and started again.
        await using var next = AppHostProcess.Start(_dataDir, LoopbackPort.Free());
        await next.WaitForLineAsync("Press Ctrl\\+C to stop", StartPatience);
        using var http = new HttpClient { BaseAddress = next.ApiUrl };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);
        next.Signal(PosixSignal.SIGINT);
        Assert.Equal(0, await next.WaitForExitAsync(TimeSpan.FromSeconds(90)));
    }

    private int PostmasterPid() =>
        int.Parse(File.ReadLines(Path.Combine(_dataDir, "postgres", "data", "postmaster.pid")).First());

    private async Task<long> CountAsync(AppHostProcess host, string sql)
    {
        var port = (await host.WaitForLineAsync(@"PostgreSQL listening on 127\.0\.0\.1:(\d+)", TimeSpan.Zero)).Groups[1].Value;
        var password = (await File.ReadAllTextAsync(Path.Combine(_dataDir, "postgres-password"))).Trim();
        await using var connection = new NpgsqlConnection(
            $"Host=127.0.0.1;Port={port};Username=dispatch;Password={password};Database=dispatch;Pooling=false");
        return await connection.ExecuteScalarAsync<long>(sql);
    }

    private static async Task<HttpStatusCode?> TryGetAsync(HttpClient http, string path)
    {
        try
        {
            return (await http.GetAsync(path)).StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Condition not met within {timeout}.");
            await Task.Delay(200);
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
            // a server still shutting down may hold a file for a moment; /tmp is cleaned anyway
        }
    }
}
