using System.Diagnostics;

namespace Dispatch.AppHost;

/// <summary>
/// A child host (Api or Silo) that the AppHost keeps running: its output forwarded with a prefix,
/// restarted with backoff when it crashes, stopped with SIGTERM (then killed) on shutdown.
/// </summary>
internal sealed class SupervisedProcess(string name, string dllPath, IReadOnlyList<string> arguments,
    IReadOnlyDictionary<string, string> environment, TextWriter output)
{
    private static readonly TimeSpan StableAfter = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(20);

    private readonly object _gate = new();
    private Process? _current;
    private bool _stopping;

    public string Name => name;
    public int? Pid { get { lock (_gate) return _current?.Id; } }
    public int Restarts { get; private set; }

    /// <summary>Runs the child until <paramref name="stopping"/> fires, restarting it whenever it dies.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        var backoff = TimeSpan.FromSeconds(1);
        while (true)
        {
            Process process;
            lock (_gate)
            {
                if (_stopping) return;
                process = Start();
                _current = process;
            }
            var started = Stopwatch.StartNew();
            output.WriteLine($"[apphost] {name} started (pid {process.Id})");
            await process.WaitForExitAsync(CancellationToken.None);
            lock (_gate)
            {
                if (_stopping) return;
            }

            if (started.Elapsed > StableAfter) backoff = TimeSpan.FromSeconds(1);
            Restarts++;
            output.WriteLine($"[apphost] {name} crashed (pid {process.Id}, exit code {process.ExitCode}); restarting in {backoff.TotalSeconds:0} s");
            try
            {
                await Task.Delay(backoff, stopping);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
    }

    /// <summary>SIGTERM, a grace period for a clean shutdown, then kill.</summary>
    public async Task StopAsync()
    {
        Process? process;
        lock (_gate)
        {
            _stopping = true;
            process = _current;
        }
        if (process is null || process.HasExited) return;
        OsProcess.Terminate(process.Id);
        using var grace = new CancellationTokenSource(StopGrace);
        try
        {
            await process.WaitForExitAsync(grace.Token);
            output.WriteLine($"[apphost] {name} stopped");
        }
        catch (OperationCanceledException)
        {
            output.WriteLine($"[apphost] {name} did not stop within {StopGrace.TotalSeconds:0} s; killing it");
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
        }
    }

    private Process Start()
    {
        // setsid: the AppHost, not the terminal, decides when the child stops and in which order.
        var start = OsProcess.Prepare("setsid", new[] { "dotnet", dllPath }.Concat(arguments));
        start.WorkingDirectory = Path.GetDirectoryName(dllPath)!;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        foreach (var (key, value) in environment)
            start.Environment[key] = value;
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) output.WriteLine($"[{name}] {e.Data}"); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.WriteLine($"[{name}] {e.Data}"); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
