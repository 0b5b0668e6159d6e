using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Dispatch.Tests.Infrastructure;

/// <summary>The real Api on Kestrel over loopback, against a test database, with extra settings.</summary>
public sealed class ApiHost : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;

    public ApiHost(TestDatabase database, IReadOnlyDictionary<string, string?>? settings = null)
    {
        _settings = database.HostSettings();
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            _settings[key] = value;
        UseKestrel(0);
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        foreach (var (key, value) in _settings)
            builder.UseSetting(key, value);
    }

    /// <summary>Starts the server and returns a client that speaks HTTP to it over loopback.</summary>
    public HttpClient StartClient()
    {
        StartServer();
        return CreateClient();
    }
}
