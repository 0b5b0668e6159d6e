using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Dispatch.Testing;

/// <summary>Runs short commands to completion, optionally as another OS user, and signals processes.</summary>
public static partial class OsProcess
{
    public sealed record Result(int ExitCode, string Output);

    public static bool IsRoot => Environment.IsPrivilegedProcess;

    /// <summary>Runs <paramref name="fileName"/>, as <paramref name="runAs"/> when given (needs root), and collects its output.</summary>
    public static async Task<Result> RunAsync(string fileName, IEnumerable<string> arguments, string? runAs = null,
        IDictionary<string, string>? environment = null, CancellationToken cancellationToken = default)
    {
        var start = Prepare(fileName, arguments, runAs);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            start.Environment[key] = value;

        using var process = new Process { StartInfo = start };
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await process.WaitForExitAsync(cancellationToken);
        lock (output) return new Result(process.ExitCode, output.ToString());
    }

    /// <summary>A start description; <c>runuser</c> switches user when asked (root only).</summary>
    public static ProcessStartInfo Prepare(string fileName, IEnumerable<string> arguments, string? runAs = null)
    {
        var start = new ProcessStartInfo { UseShellExecute = false };
        if (runAs is not null)
        {
            start.FileName = "runuser";
            foreach (var a in new[] { "-u", runAs, "--", fileName }) start.ArgumentList.Add(a);
        }
        else
        {
            start.FileName = fileName;
        }
        foreach (var a in arguments) start.ArgumentList.Add(a);
        return start;
    }

    /// <summary>Asks a process to stop the way Ctrl+C or a service manager would.</summary>
    public static void Terminate(int pid)
    {
        const int sigterm = 15;
        _ = Kill(pid, sigterm);
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
