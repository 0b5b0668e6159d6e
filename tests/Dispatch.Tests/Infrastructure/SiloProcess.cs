using System.Reflection;

namespace Dispatch.Tests.Infrastructure;

/// <summary>A real host (the Silo or the Api) as a process, against a test database, on free loopback ports.</summary>
public static class HostProcess
{
    public static ExternalProcess Start(string project, TestDatabase database, IReadOnlyDictionary<string, string?> settings, int? httpPort = null)
    {
        var dll = typeof(HostProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == project).Value!;
        var environment = database.HostSettings().Concat(settings) // a setting given here overrides the database's own
            .GroupBy(kv => kv.Key).ToDictionary(g => g.Key.Replace(":", "__"), g => g.Last().Value);
        environment["DOTNET_ENVIRONMENT"] = "Development";
        environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        environment["DOTNET_gcServer"] = "0"; // several hosts share two cores in a test run: one heap each, not one per core
        var port = httpPort ?? Dispatch.Testing.LoopbackPort.Free();
        return new ExternalProcess("dotnet", [dll, "--urls", $"http://127.0.0.1:{port}"], environment);
    }
}

/// <summary>The real Silo host as a process; silos of one test database form one cluster through its membership table.</summary>
public static class SiloProcess
{
    public static ExternalProcess Start(TestDatabase database, IReadOnlyDictionary<string, string?> settings)
    {
        var ports = new Dictionary<string, string?>
        {
            ["Dispatch:Orleans:SiloPort"] = Dispatch.Testing.LoopbackPort.Free().ToString(),
            ["Dispatch:Orleans:GatewayPort"] = Dispatch.Testing.LoopbackPort.Free().ToString(),
        };
        return HostProcess.Start("Dispatch.Silo", database, ports.Concat(settings).GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Last().Value));
    }
}
