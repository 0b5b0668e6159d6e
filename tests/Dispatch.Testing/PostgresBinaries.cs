namespace Dispatch.Testing;

/// <summary>Finds the machine's PostgreSQL server binaries (initdb, pg_ctl, postgres).</summary>
public static class PostgresBinaries
{
    public static async Task<string?> FindAsync()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("DISPATCH_PG_BINDIR");
        if (HasServer(fromEnvironment))
            return fromEnvironment;
        try
        {
            var result = await OsProcess.RunAsync("pg_config", ["--bindir"]);
            var dir = result.Output.Trim();
            if (result.ExitCode == 0 && HasServer(dir))
                return dir;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // pg_config not on PATH
        }
        return new[] { "/usr/lib/postgresql", "/usr/local/pgsql" }
            .Where(Directory.Exists)
            .SelectMany(root => Directory.GetDirectories(root).Select(d => Path.Combine(d, "bin")).Append(Path.Combine(root, "bin")))
            .Where(HasServer)
            .OrderByDescending(VersionOf)
            .FirstOrDefault();
    }

    private static bool HasServer(string? dir) =>
        !string.IsNullOrEmpty(dir) && File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl"));

    private static int VersionOf(string binDir) =>
        int.TryParse(Path.GetFileName(Path.GetDirectoryName(binDir)), out var v) ? v : 0;

    public const string InstallHelp = """
        No PostgreSQL server was found on this machine, and no database is configured.
        Either install PostgreSQL (Debian/Ubuntu: `sudo apt-get install postgresql`; the AppHost looks in
        `pg_config --bindir`, /usr/lib/postgresql/*/bin, or DISPATCH_PG_BINDIR), or point Dispatch at a database:
          ConnectionStrings__dispatch='Host=db.example;Username=dispatch;Password=...;Database=dispatch' dotnet run --project Dispatch.AppHost
        """;
}
