using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Dispatch.Tests.Infrastructure;

/// <summary>The real AppHost as a process: its output collected line by line, signalled like a terminal would.</summary>
public sealed partial class AppHostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];

    private IDisposable? _leftover;

    private AppHostProcess(Process process) => _process = process;

    public int Pid => _process.Id;
    public Uri ApiUrl { get; private init; } = null!;

    public string Output { get { lock (_lines) return string.Join('\n', _lines); } }

    public static AppHostProcess Start(string dataDir, int apiPort)
    {
        var dll = typeof(AppHostProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "Dispatch.AppHost").Value!;
        // In a process group of its own (setsid), so that a signal reaches the AppHost and its orchestrator together, as a
        // terminal's Ctrl+C does. Through env --default-signal: a test run started as a background job of a non-interactive shell has
        // SIGINT ignored, and a process that starts with SIGINT ignored keeps ignoring it (.NET then installs no handler).
        var start = new ProcessStartInfo("setsid")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var apiUrl = $"http://127.0.0.1:{apiPort}";
        foreach (var a in new[] { "env", "--default-signal=INT", "dotnet", dll, "--data-dir", dataDir, "--api-url", apiUrl }) start.ArgumentList.Add(a);
        start.Environment.Remove("ConnectionStrings__dispatch");
        // What the AppHost's http launch profile gives `dotnet run`, on ports of its own: the dashboard, its OTLP receiver and
        // resource service, without TLS.
        start.Environment["DOTNET_ENVIRONMENT"] = "Development";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{Dispatch.Testing.LoopbackPort.Free()}";
        start.Environment["ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL"] = $"http://127.0.0.1:{Dispatch.Testing.LoopbackPort.Free()}";
        start.Environment["ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL"] = $"http://127.0.0.1:{Dispatch.Testing.LoopbackPort.Free()}";
        start.Environment["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true";
        var process = new Process { StartInfo = start };
        var host = new AppHostProcess(process) { ApiUrl = new Uri(apiUrl) };
        process.OutputDataReceived += (_, e) => host.Add(e.Data);
        process.ErrorDataReceived += (_, e) => host.Add(e.Data);
        process.Start();
        host._leftover = Dispatch.Testing.TestRun.KillAtExit(process.Id); // its group: the AppHost and what it started
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return host;
    }

    private void Add(string? line)
    {
        if (line is null) return;
        lock (_lines)
        {
            _lines.Add(line);
            Monitor.PulseAll(_lines);
        }
    }

    /// <summary>Waits for an output line matching <paramref name="pattern"/> after line <paramref name="from"/>; returns its match.</summary>
    public async Task<Match> WaitForLineAsync(string pattern, TimeSpan timeout, int from = 0)
    {
        var regex = new Regex(pattern);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            lock (_lines)
            {
                for (var i = from; i < _lines.Count; i++)
                {
                    var match = regex.Match(_lines[i]);
                    if (match.Success) return match;
                }
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"No line matching '{pattern}' within {timeout}. Output so far:\n{Output}");
            if (_process.HasExited)
            {
                await Task.Delay(500); // the last lines may still be in flight
                lock (_lines)
                    if (!_lines.Skip(from).Any(regex.IsMatch))
                        throw new InvalidOperationException($"AppHost exited ({_process.ExitCode}) before '{pattern}'. Output:\n{Output}");
                continue;
            }
            await Task.Delay(100);
        }
    }

    public int LineCount { get { lock (_lines) return _lines.Count; } }

    /// <summary>Signals the AppHost's process group (it and the orchestrator it started), as a terminal does.</summary>
    public void Signal(PosixSignal signal) => _ = Kill(-Pid, signal switch
    {
        PosixSignal.SIGINT => 2,
        PosixSignal.SIGTERM => 15,
        _ => throw new ArgumentOutOfRangeException(nameof(signal)),
    });

    public void KillHard() => _ = Kill(Pid, 9);

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The AppHost did not exit within {timeout}. Its output:\n{Output}");
        }
        return _process.ExitCode;
    }

    public static bool IsRunning(int pid) => Directory.Exists($"/proc/{pid}") && !IsZombie(pid);

    /// <summary>The live processes that name <paramref name="dataDir"/> in their command line or environment: what an AppHost started.</summary>
    public static IReadOnlyList<int> ProcessesOf(string dataDir)
    {
        var found = new List<int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId || !IsRunning(pid)) continue;
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "cmdline")).Contains(dataDir) || File.ReadAllText(Path.Combine(dir, "environ")).Contains(dataDir))
                    found.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // gone meanwhile, or not ours to read
            }
        }
        return found;
    }

    private static bool IsZombie(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (IOException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Signal(PosixSignal.SIGTERM);
            try
            {
                await WaitForExitAsync(TimeSpan.FromSeconds(60));
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        _process.Dispose();
        _leftover?.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
