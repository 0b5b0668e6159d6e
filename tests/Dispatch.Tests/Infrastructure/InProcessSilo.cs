extern alias silo;
using Dispatch.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using silo::Dispatch.Silo;

namespace Dispatch.Tests.Infrastructure;

/// <summary>The Silo host (Orleans silo, grains and recovery scans) inside the test process, on free loopback ports.</summary>
public sealed class InProcessSilo : IAsyncDisposable
{
    private readonly WebApplication _app;

    private InProcessSilo(WebApplication app) => _app = app;

    public IServiceProvider Services => _app.Services;

    public static async Task<InProcessSilo> StartAsync(IReadOnlyDictionary<string, string?> settings, ILoggerProvider? logs = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Development" });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Dispatch:Orleans:SiloPort"] = Dispatch.Testing.LoopbackPort.Free().ToString(),
            ["Dispatch:Orleans:GatewayPort"] = Dispatch.Testing.LoopbackPort.Free().ToString(),
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Information);
        if (logs is not null) builder.Logging.AddProvider(logs);
        builder.AddServiceDefaults();
        builder.AddDispatchSilo();
        builder.Services.AddDispatchEngine();
        var app = builder.Build();
        await app.StartAsync();
        return new InProcessSilo(app);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
