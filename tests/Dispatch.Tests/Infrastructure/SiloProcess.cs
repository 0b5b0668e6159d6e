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
        var port = apphost::Dispatch.AppHost.LoopbackPort.Free();
        return new ExternalProcess("dotnet", [dll, "--urls", $"http://127.0.0.1:{port}"], environment);
    }
}
