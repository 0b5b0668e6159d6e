using System.Net;
using System.Net.Sockets;

namespace Dispatch.AppHost;

/// <summary>
/// What would otherwise end as an exception deep inside Aspire, checked before anything starts: another AppHost on the same data
/// folder, a port already taken, no PostgreSQL server binaries.
/// </summary>
public static class StartupChecks
{
    /// <summary>
    /// Holds <c>apphost.lock</c> in the data folder for as long as this AppHost runs (an OS lock: released when the process ends,
    /// however it ends); a second AppHost on the same folder is told which process holds it.
    /// </summary>
    public static FileStream LockDataFolder(string dataDir, Uri apiUrl)
    {
        Directory.CreateDirectory(dataDir);
        var owner = Path.Combine(dataDir, "apphost.pid"); // beside the lock: a locked file cannot be read by the one refused
        try
        {
            var stream = new FileStream(Path.Combine(dataDir, "apphost.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            File.WriteAllText(owner, $"{Environment.ProcessId} {apiUrl.GetLeftPart(UriPartial.Authority)}\n");
            return stream;
        }
        catch (IOException)
        {
            string[] holder;
            try { holder = File.ReadAllText(owner).Trim().Split(' '); }
            catch (IOException) { holder = []; }
            var who = holder.Length == 2 ? $" (process {holder[0]}, API at {holder[1]})" : "";
            throw new StartupException(
                $"Another Dispatch AppHost is already running on {dataDir}{who}. Stop it with Ctrl+C in its terminal, or give this one " +
                "its own --data-dir and --api-url.");
        }
    }

    /// <summary>Fails when a port this AppHost needs is taken (each with what it is for and where it is set).</summary>
    public static void PortsFree(IEnumerable<(string Url, string Purpose)> endpoints)
    {
        foreach (var (url, purpose) in endpoints)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || !IPAddress.TryParse(uri.Host, out var address)) continue;
            try
            {
                using var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                listener.Bind(new IPEndPoint(address, uri.Port));
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                throw new StartupException(
                    $"Port {uri.Port} ({purpose}, {uri.GetLeftPart(UriPartial.Authority)}) is already in use: is another Dispatch AppHost " +
                    "running? Stop it, or choose other ports.");
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable)
            {
                throw new StartupException($"{uri.Host} ({purpose}) is not an address of this machine.");
            }
        }
    }

    /// <summary>The folder of the machine's PostgreSQL server binaries, found as postgres.sh finds them; a clear error without.</summary>
    public static void PostgresInstalled()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("DISPATCH_PG_BINDIR") is { Length: > 0 } configured) candidates.Add(configured);
        if (Directory.Exists("/usr/lib/postgresql")) candidates.AddRange(Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")));
        candidates.AddRange((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries));
        if (candidates.Any(dir => File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "postgres")))) return;
        throw new StartupException(
            "No PostgreSQL server on this machine: install it (Debian: apt-get install postgresql), set DISPATCH_PG_BINDIR to its bin " +
            "folder, or use a database you run: ConnectionStrings__dispatch='Host=…;Username=…;Password=…;Database=dispatch'.");
    }
}
