using System.Net;
using System.Runtime.InteropServices;
using Dapper;
using Dispatch.Testing;
using Dispatch.Tests.Infrastructure;
using Npgsql;

namespace Dispatch.Tests.AppHost;

/// <summary>
/// The one-command start: the real Aspire AppHost process with its embedded PostgreSQL (an executable resource), two silos, the Api
/// and the dashboard.
/// </summary>
[Trait("Tier", "Full")] // real processes: a Silo, the Api or the AppHost
public sealed class AppHostTests : IDisposable
{
    private static readonly TimeSpan StartPatience = TimeSpan.FromSeconds(150);
    private const string Ready = @"Press Ctrl\+C to stop\.";
    private readonly string _dataDir = Dispatch.Testing.TestRun.NewFolder("apphost-");

    // One scenario, two starts (each start is seconds of CPU for five processes): the first start, a second instance refused,
    // the AppHost killed outright, the next start recovering the same data, and Ctrl+C ending everything cleanly.
    [Fact]
    public async Task Runs_two_silos_and_the_api_healthy_survives_being_killed_outright_and_stops_everything_on_ctrl_c()
    {
        string firstLogin;
        await using (var host = AppHostProcess.Start(_dataDir, LoopbackPort.Free()))
        {
            await host.WaitForLineAsync(Ready, StartPatience);
            firstLogin = (await host.WaitForLineAsync(@"Login:\s+(\S+ / \S+)", TimeSpan.Zero)).Groups[1].Value;
            await host.WaitForLineAsync(@"Login to the dashboard at http://127\.0\.0\.1:\d+/login\?t=\w+", TimeSpan.Zero);
            using var http = new HttpClient { BaseAddress = host.ApiUrl };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/openapi/v1.json")).StatusCode);
            // The hosts run in the AppHost's environment (Development here), so the banner's Swagger URL works.
            Assert.Contains("Swagger:", host.Output);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/swagger/index.html")).StatusCode);

            // A second AppHost on the same data folder says so in one sentence and exits, touching nothing.
            await using (var second = AppHostProcess.Start(_dataDir, LoopbackPort.Free()))
            {
                Assert.Equal(2, await second.WaitForExitAsync(TimeSpan.FromSeconds(60)));
                Assert.Contains("Dispatch did not start: Another Dispatch AppHost is already running on", second.Output);
                Assert.DoesNotContain("   at ", second.Output); // no stack trace
            }
            Assert.Equal(1, await CountAsync("select count(*) from agencies"));
            // Two active silos: the second may still be joining the membership when the AppHost says it is ready.
            await Wait.UntilAsync(async () => await CountAsync("select count(*) from orleansmembershiptable where status = 3") == 2, TimeSpan.FromSeconds(60));
            Assert.NotEmpty(AppHostProcess.ProcessesOf(_dataDir));

            host.KillHard();
            await host.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }

        // Aspire's orchestrator notices its AppHost is gone and stops every resource, PostgreSQL included.
        await Wait.UntilAsync(() => Task.FromResult(AppHostProcess.ProcessesOf(_dataDir).Count == 0), TimeSpan.FromSeconds(60));

        await using (var next = AppHostProcess.Start(_dataDir, LoopbackPort.Free()))
        {
            await next.WaitForLineAsync(Ready, StartPatience);
            Assert.Equal(firstLogin, (await next.WaitForLineAsync(@"Login:\s+(\S+ / \S+)", TimeSpan.Zero)).Groups[1].Value);
            using var http = new HttpClient { BaseAddress = next.ApiUrl };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);
            Assert.Equal(1, await CountAsync("select count(*) from agencies")); // the same data, bootstrapped once
            Assert.Equal(1, await CountAsync("select count(*) from users"));

            next.Signal(PosixSignal.SIGINT);
            Assert.Equal(0, await next.WaitForExitAsync(TimeSpan.FromSeconds(90)));
            await Wait.UntilAsync(() => Task.FromResult(AppHostProcess.ProcessesOf(_dataDir).Count == 0), TimeSpan.FromSeconds(30));
            Assert.Contains("Stopping Dispatch: the Api, 2 silo(s), then PostgreSQL", next.Output); // it says what it stops
            Assert.Matches(@"Dispatch stopped in \d+\.\d s\.", next.Output);
            // PostgreSQL removes its pid file only when it shuts down cleanly (not killed).
            Assert.False(File.Exists(Path.Combine(_dataDir, "postgres", "data", "postmaster.pid")), "PostgreSQL did not shut down cleanly");
        }
    }

    // The embedded server's port is the fourth line of its postmaster.pid.
    private async Task<long> CountAsync(string sql)
    {
        var port = File.ReadLines(Path.Combine(_dataDir, "postgres", "data", "postmaster.pid")).ElementAt(3).Trim();
        var password = (await File.ReadAllTextAsync(Path.Combine(_dataDir, "postgres-password"))).Trim();
        await using var connection = new NpgsqlConnection(
            $"Host=127.0.0.1;Port={port};Username=dispatch;Password={password};Database=dispatch;Pooling=false");
        return await connection.ExecuteScalarAsync<long>(sql);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // a server still shutting down may hold a file for a moment; /tmp is cleaned anyway
        }
    }
}
