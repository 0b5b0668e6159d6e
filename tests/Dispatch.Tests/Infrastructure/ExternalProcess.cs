using System.Diagnostics;
using System.Text;

namespace Dispatch.Tests.Infrastructure;

/// <summary>
/// A real process a test starts (a Silo, the Api): its output kept, killed outright or asked to stop. It runs in a process
/// group of its own, which <see cref="Dispatch.Testing.TestRun"/> kills if the test process ends first, however it ends.
/// </summary>
public sealed class ExternalProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly IDisposable _leftover;

    public ExternalProcess(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo("setsid") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(fileName); // setsid execs it: same pid, which is also its group's id
        foreach (var a in arguments) start.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string?>())
        {
            if (v is null) start.Environment.Remove(k);
            else start.Environment[k] = v;
        }
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        _process.Start();
        _leftover = Dispatch.Testing.TestRun.KillAtExit(_process.Id);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;
    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>SIGKILL to its process group: no chance to finish anything. (Not its whole tree: a test host it started
    /// keeps a detached watcher that must outlive it.)</summary>
    public async Task KillAsync()
    {
        if (_process.HasExited) return;
        _ = KillGroup(_process.Id, 9);
        await _process.WaitForExitAsync();
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int KillSignal(int pid, int signal);

    private static int KillGroup(int groupId, int signal) => KillSignal(-groupId, signal);

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
        _leftover.Dispose();
    }
}
