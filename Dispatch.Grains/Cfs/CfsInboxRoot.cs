using System.Runtime.InteropServices;
using Microsoft.Extensions.Configuration;

namespace Dispatch.Grains.Cfs;

/// <summary>
/// The one folder every CFS inbox lives under (<c>Dispatch:Cfs:InboxRoot</c>). A PSAP names its inbox inside it (absolute, or relative
/// to the root); the path is normalised and its symbolic links resolved, so <c>..</c> or a link cannot lead out of the root.
/// </summary>
public sealed class CfsInboxRoot(string? root)
{
    public const string Setting = "Dispatch:Cfs:InboxRoot";

    public static CfsInboxRoot FromConfiguration(IConfiguration configuration) => new(configuration[Setting]);

    public string? Root { get; } = string.IsNullOrWhiteSpace(root) ? null : Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));

    /// <summary>The inbox's real, normalised path under the root; or why it cannot be an inbox.</summary>
    public (string? Path, string? Error) Resolve(string? requested)
    {
        if (Root is null) return (null, $"This server has no CFS inbox root ({Setting}); ask its operator to set one.");
        if (string.IsNullOrWhiteSpace(requested)) return (null, "inboxPath is a folder under the server's CFS inbox root.");
        var realRoot = RealPath(Root);
        if (realRoot is null) return (null, "The server's CFS inbox root does not exist.");
        var real = RealPath(Path.GetFullPath(requested, Root));
        if (real is null || !Directory.Exists(real)) return (null, "inboxPath does not exist or cannot be read on this server.");
        if (!real.StartsWith(realRoot + "/", StringComparison.Ordinal))
            return (null, $"inboxPath must be a folder inside the CFS inbox root {Root}.");
        return Readable(real) ? (real, null) : (null, "inboxPath does not exist or cannot be read on this server.");
    }

    /// <summary>Whether a stored inbox path still lies inside the root (checked again before every scan: links can change).</summary>
    public bool Contains(string inboxPath) => Resolve(inboxPath).Path == inboxPath;

    private static bool Readable(string path)
    {
        try
        {
            using var entries = Directory.EnumerateFileSystemEntries(path).GetEnumerator();
            entries.MoveNext();
            return true;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return false;
        }
    }

    // realpath(3): every symbolic link and ".." resolved; null when the path does not exist.
    private static string? RealPath(string path)
    {
        var resolved = realpath(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero) return null;
        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            free(resolved);
        }
    }

    [DllImport("libc", CharSet = CharSet.Ansi)]
    private static extern IntPtr realpath([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr resolved);

    [DllImport("libc")]
    private static extern void free(IntPtr pointer);
}
