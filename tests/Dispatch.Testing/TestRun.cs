using System.Diagnostics;

namespace Dispatch.Testing;

/// <summary>
/// What one test process leaves on the machine, and its removal however that process ends. Every folder a test makes
/// is under <see cref="Root"/>; every process a test starts is in a process group of its own, named in
/// <c>Root/.cleanup</c> while it runs, as is every PostgreSQL server. A detached watcher, started with the first use,
/// waits for this process to be gone (finished, failed, killed with SIGKILL), then kills those process groups, stops
/// those servers immediately and deletes <see cref="Root"/>.
/// </summary>
public static class TestRun
{
    public const string Prefix = "dispatch-tests-";

    private static readonly Lazy<string> Folder = new(Start);

    /// <summary><c>/tmp/dispatch-tests-&lt;pid&gt;</c>: gone when this process is.</summary>
    public static string Root => Folder.Value;

    private static string Cleanup => Path.Combine(Root, ".cleanup");

    /// <summary>A new, empty folder under <see cref="Root"/>.</summary>
    public static string NewFolder(string prefix)
    {
        var path = Path.Combine(Root, prefix + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>
    /// Kills the process group <paramref name="groupId"/> (a process started through <c>setsid</c>, whose pid is its group's
    /// id) if this process ends before the returned handle is disposed.
    /// </summary>
    public static IDisposable KillAtExit(int groupId) => Entry($"group-{groupId}", "");

    /// <summary>Stops the PostgreSQL server of <paramref name="dataDir"/> if this process ends before the handle is disposed.</summary>
    public static IDisposable StopPostgresAtExit(string binDir, string dataDir)
    {
        var pgCtl = (OsProcess.IsRoot ? "runuser -u postgres -- " : "") + Quote(Path.Combine(binDir, "pg_ctl"));
        return Entry($"postgres-{Guid.NewGuid():N}", $"{pgCtl} stop -D {Quote(dataDir)} -m immediate -w -t 30\n");
    }

    private static IDisposable Entry(string name, string content)
    {
        var path = Path.Combine(Cleanup, name);
        File.WriteAllText(path, content);
        return new Removal(path);
    }

    private sealed class Removal(string path) : IDisposable
    {
        public void Dispose() => File.Delete(path);
    }

    private static string Start()
    {
        RemoveFoldersOfFinishedRuns();
        var root = Path.Combine(Path.GetTempPath(), Prefix + Environment.ProcessId);
        Directory.CreateDirectory(Path.Combine(root, ".cleanup"));
        // The postgres OS user must reach the clusters kept here.
        File.SetUnixFileMode(root, File.GetUnixFileMode(root) | UnixFileMode.OtherExecute | UnixFileMode.GroupExecute);
        var cleanup = Quote(Path.Combine(root, ".cleanup"));
        var script = $"exec </dev/null >/dev/null 2>&1; while kill -0 {Environment.ProcessId}; do sleep 0.2; done; " +
                     $"for f in {cleanup}/group-*; do [ -e \"$f\" ] && kill -KILL \"-${{f##*group-}}\"; done; " +
                     $"for f in {cleanup}/postgres-*; do [ -e \"$f\" ] && sh \"$f\"; done; " +
                     $"rm -rf {Quote(root)}";
        var start = new ProcessStartInfo("setsid", ["sh", "-c", script])
        {
            UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        Process.Start(start)!.Dispose();
        return root;
    }

    // A watcher can itself be killed (a machine shut down mid-run); the next run sweeps up what it left.
    private static void RemoveFoldersOfFinishedRuns()
    {
        foreach (var dir in Directory.GetDirectories(Path.GetTempPath(), Prefix + "*"))
        {
            if (int.TryParse(Path.GetFileName(dir)[Prefix.Length..], out var pid) && !Directory.Exists($"/proc/{pid}"))
            {
                try { Directory.Delete(dir, recursive: true); }
                catch (IOException) { }
                catch (UnauthorizedAccessException) { }
            }
        }
    }

    private static string Quote(string value) => "'" + value.Replace("'", "'\\''") + "'";
}
