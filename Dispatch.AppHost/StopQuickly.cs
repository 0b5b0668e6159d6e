using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Dispatch.AppHost;

/// <summary>
/// Ctrl+C ends everything in a few seconds and says so. Aspire's orchestrator stops the resources after the AppHost itself has
/// gone, and the hosts went on for many seconds after the prompt came back; so the AppHost signals its own hosts (the processes
/// carrying this data folder's inbox setting) at once — the silos one after another — waits for them, and only then lets Aspire
/// stop PostgreSQL.
/// </summary>
public static class StopQuickly
{
    /// <summary>How long the hosts get to finish in-flight work before they are killed.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(2.5);

    public static void Attach(DistributedApplication app, string dataDir)
    {
        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        var marker = $"Dispatch__Cfs__InboxRoot={Path.Combine(dataDir, "cfs-inbox")}";
        var clock = new Stopwatch();
        lifetime.ApplicationStopping.Register(() =>
        {
            clock.Start();
            var hosts = HostsOf(marker);
            var silos = hosts.Where(IsSilo).ToList();
            Console.WriteLine($"Stopping Dispatch: the Api, {silos.Count} silo(s), then PostgreSQL …");
            var deadline = DateTime.UtcNow + Grace;
            // SIGTERM: each host stops its own way. The Api at once; the silos one after another, each leaving the cluster in a few
            // hundred milliseconds while another still answers (silos stopping together wait on each other for seconds).
            foreach (var pid in hosts.Except(silos)) _ = Kill(pid, 15);
            foreach (var pid in silos)
            {
                _ = Kill(pid, 15);
                while (Running(pid) && DateTime.UtcNow < deadline) Thread.Sleep(20);
            }
            while (hosts.Any(Running) && DateTime.UtcNow < deadline) Thread.Sleep(20);
            var stubborn = hosts.Where(Running).ToList();
            foreach (var pid in stubborn) _ = Kill(pid, 9);
            if (stubborn.Count > 0) Console.WriteLine($"Killed {stubborn.Count} host(s) that had not stopped within {Grace.TotalSeconds} s.");
        });
        lifetime.ApplicationStopped.Register(() => Console.WriteLine($"Dispatch stopped in {clock.Elapsed.TotalSeconds:0.0} s."));
    }

    private static List<int> HostsOf(string marker)
    {
        var found = new List<int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId) continue;
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "environ")).Split('\0').Contains(marker)) found.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // gone meanwhile, or not ours
            }
        }
        return found;
    }

    private static bool IsSilo(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Contains("Dispatch.Silo"); }
        catch (IOException) { return false; }
    }

    private static bool Running(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return !stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (IOException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);
}
