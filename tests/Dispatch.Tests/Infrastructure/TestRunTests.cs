using System.Reflection;
using Dispatch.Testing;

namespace Dispatch.Tests.Infrastructure;

/// <summary>
/// A test host killed mid-run (SIGKILL: no exit handler, no dispose) leaves nothing behind: the processes its tests started,
/// its PostgreSQL server and its folders are gone soon after. The test runs this assembly's <see cref="Probe"/> in a test
/// host of its own, waits until the probe has a Silo process, a database server and a folder, and kills that host.
/// </summary>
[Trait("Tier", "Full")]
public sealed class TestRunTests
{
    private const string ProbeSetting = "DISPATCH_TEST_PROBE";

    [Fact]
    public async Task A_test_host_killed_mid_run_leaves_no_process_and_no_folder_behind()
    {
        var marker = Path.Combine(TestRun.NewFolder("probe-marker-"), "probe");
        var dll = typeof(TestRunTests).Assembly.Location;
        await using var run = new ExternalProcess("dotnet",
            ["test", dll, "--filter", $"FullyQualifiedName={typeof(TestRunTests).FullName}.{nameof(Probe)}"],
            new Dictionary<string, string?> { [ProbeSetting] = marker, ["DISPATCH_TEST_DATABASE"] = null });

        await Wait.UntilAsync(() => Task.FromResult(File.Exists(marker) && File.ReadAllLines(marker).Length == 4),
            TimeSpan.FromSeconds(180), () => run.Output);
        var lines = File.ReadAllLines(marker);
        var (host, silo, root, folder) = (int.Parse(lines[0]), int.Parse(lines[1]), lines[2], lines[3]);
        var postmaster = int.Parse(File.ReadLines(Path.Combine(root, "postgres", "data", "postmaster.pid")).First());
        Assert.True(Alive(host) && Alive(silo) && Alive(postmaster) && Directory.Exists(folder), "the probe is not running");

        var killed = await OsProcess.RunAsync("kill", ["-KILL", host.ToString()]);
        Assert.Equal(0, killed.ExitCode);

        await Wait.UntilAsync(() => Task.FromResult(!Alive(host) && !Alive(silo) && !Alive(postmaster) && !Directory.Exists(root)),
            TimeSpan.FromSeconds(30),
            () => $"left behind: host {Alive(host)}, Silo {Alive(silo)}, PostgreSQL {Alive(postmaster)}, {root} {Directory.Exists(root)}");
    }

    /// <summary>Not a test of its own: the test host that <see cref="A_test_host_killed_mid_run_leaves_no_process_and_no_folder_behind"/> kills.</summary>
    [ProbeFact]
    public async Task Probe()
    {
        var marker = Environment.GetEnvironmentVariable(ProbeSetting)!;
        var database = new TestDatabase();
        await database.InitializeAsync();
        var silo = SiloProcess.Start(database, new Dictionary<string, string?>());
        var folder = TestRun.NewFolder("probe-");
        await File.WriteAllLinesAsync(marker + ".tmp", [Environment.ProcessId.ToString(), silo.Pid.ToString(), TestRun.Root, folder]);
        File.Move(marker + ".tmp", marker);
        await Task.Delay(Timeout.InfiniteTimeSpan); // killed here
    }

    private static bool Alive(int pid)
    {
        try { return !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z "); } // a zombie has ended
        catch (IOException) { return false; }
    }

    private sealed class ProbeFactAttribute : FactAttribute
    {
        public ProbeFactAttribute()
        {
            if (Environment.GetEnvironmentVariable(ProbeSetting) is null)
                Skip = $"run only by {nameof(TestRunTests)}, as the test host it kills";
        }
    }
}
