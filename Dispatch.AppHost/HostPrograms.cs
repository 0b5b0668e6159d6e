using Microsoft.Extensions.DependencyInjection;
using System.Reflection;

namespace Dispatch.AppHost;

/// <summary>
/// A Dispatch host (the Silo or the Api) as an executable resource running its built program: <c>dotnet Dispatch.Silo.dll</c>
/// from the project's output for the AppHost's own configuration (building the AppHost builds both), on a loopback port Aspire
/// assigns (or the one given), healthy when its <c>/health</c> answers.
/// </summary>
public static class HostPrograms
{
    private static readonly HttpClient Probe = new() { Timeout = TimeSpan.FromSeconds(2) };

    public static IResourceBuilder<ExecutableResource> Add(IDistributedApplicationBuilder builder, string name, string projectPath, int? port = null)
    {
        var directory = Path.GetDirectoryName(projectPath)!;
        var program = Path.GetFileNameWithoutExtension(projectPath);
        var configuration = typeof(HostPrograms).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var dll = Path.Combine(directory, "bin", configuration, "net10.0", program + ".dll");
        if (!File.Exists(dll))
            throw new StartupException($"{dll} is not built: run `dotnet build` first (`dotnet run --project Dispatch.AppHost` builds it).");
        var host = builder.AddExecutable(name, "dotnet", directory, dll)
            .WithHttpEndpoint(name: "http", port: port, isProxied: false);
        var endpoint = host.GetEndpoint("http");
        var healthCheck = $"{name}-health";
        builder.Services.AddHealthChecks().Add(new Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckRegistration(healthCheck,
            _ => PromptHealth.Http(Probe, () => endpoint.Url + "/health"), null, null));
        host.WithHealthCheck(healthCheck);
        return host.WithEnvironment(context =>
        {
            context.EnvironmentVariables["ASPNETCORE_URLS"] = ReferenceExpression.Create($"http://127.0.0.1:{endpoint.Property(EndpointProperty.TargetPort)}");
            context.EnvironmentVariables["DOTNET_gcServer"] = "0"; // three hosts on a developer's machine: one heap each, not one per core
        });
    }
}
