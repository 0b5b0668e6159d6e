extern alias apphost;
using System.Reflection;

namespace Dispatch.Tests.Infrastructure;

/// <summary>The real Silo host as a process, against a test database.</summary>
public static class SiloProcess
{
    public static ExternalProcess Start(TestDatabase database, IReadOnlyDictionary<string, string?> settings)
    {
        var dll = typeof(SiloProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "Dispatch.Silo").Value!;
        var environment = database.HostSettings().Concat(settings)
            .ToDictionary(kv => kv.Key.Replace(":", "__"), kv => kv.Value);
        environment["DOTNET_ENVIRONMENT"] = "Development";
        environment["DOTNET_gcServer"] = "0"; // several silos share two cores in a test run: one heap each, not one per core
        // Each silo its own Orleans ports; silos of one test database form one cluster through its membership table.
        environment.TryAdd("Dispatch__Orleans__SiloPort", apphost::Dispatch.AppHost.LoopbackPort.Free().ToString());
        environment.TryAdd("Dispatch__Orleans__GatewayPort", apphost::Dispatch.AppHost.LoopbackPort.Free().ToString());
        var port = apphost::Dispatch.AppHost.LoopbackPort.Free();
        return new ExternalProcess("dotnet", [dll, "--urls", $"http://127.0.0.1:{port}"], environment);
    }
}
