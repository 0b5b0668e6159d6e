using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Dispatch.Tests.Infrastructure;

/// <summary>The real Api on Kestrel over loopback, against a test database, with extra settings.</summary>
public sealed class ApiHost : WebApplicationFactory<Program>
{
    private readonly IReadOnlyDictionary<string, string?> _settings;

    public ApiHost(string connectionString, IReadOnlyDictionary<string, string?>? settings = null)
    {
        _settings = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>())
        {
            ["ConnectionStrings:dispatch"] = connectionString,
        };
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
