using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dispatch.Tests.Infrastructure;

/// <summary>A fresh database and a real Api bootstrapped with a PSAP and its admin, plus helpers to act as its users.</summary>
public class IdentityHost : TestDatabase
{
    public const string AdminEmail = "chief@metro911.example";
    public const string AdminPassword = "correct horse battery staple";

    private readonly Dictionary<string, string?> _extraSettings;
    public ApiHost Api { get; private set; } = null!;
    public HttpClient Anonymous { get; private set; } = null!;

    public IdentityHost() : this(new Dictionary<string, string?>())
    {
    }

    protected IdentityHost(Dictionary<string, string?> extraSettings) => _extraSettings = extraSettings;

    /// <summary>Whether the test runs its own Silo processes; otherwise a silo runs inside the test process, started before the Api.</summary>
    protected virtual bool RunsSiloProcesses => false;

    /// <summary>More settings for the Api and the in-process silo.</summary>
    protected virtual IReadOnlyDictionary<string, string?> HostExtras => new Dictionary<string, string?>();

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        var settings = new Dictionary<string, string?>(_extraSettings)
        {
            ["Dispatch:Bootstrap:AgencyName"] = "Metro 911",
            ["Dispatch:Bootstrap:AdminEmail"] = AdminEmail,
            ["Dispatch:Bootstrap:AdminPassword"] = AdminPassword,
        };
        foreach (var (key, value) in HostExtras) settings[key] = value;
        Api = new ApiHost(this, settings, withSilo: !RunsSiloProcesses);
        Anonymous = Api.StartClient();
    }

    public override async Task DisposeAsync()
    {
        Anonymous.Dispose();
        await Api.DisposeAsync();
        await base.DisposeAsync();
    }

    public Task<HttpResponseMessage> PostLoginAsync(string email, string password) =>
        Anonymous.PostAsJsonAsync("/api/v1/auth/login", new { email, password });

    public async Task<Tokens> LoginAsync(string email = AdminEmail, string password = AdminPassword)
    {
        using var response = await PostLoginAsync(email, password);
        Assert.True(response.IsSuccessStatusCode, $"login as {email}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<Tokens>())!;
    }

    /// <summary>Sends a JSON request and returns the status and the parsed body (null when empty).</summary>
    public static async Task<(HttpStatusCode Status, JsonNode? Body)> SendAsync(HttpClient client, HttpMethod method, string path, object? body = null)
    {
        using var response = await client.SendAsync(new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) });
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    public HttpClient As(string authorization)
    {
        var client = Api.CreateClient();
        var space = authorization.IndexOf(' ');
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(authorization[..space], authorization[(space + 1)..]);
        return client;
    }

    public async Task<HttpClient> AsAdminAsync() => As("Bearer " + (await LoginAsync()).AccessToken);

    /// <summary>Onboards a company as the bootstrap PSAP admin; returns it and its admin's login.</summary>
    public async Task<(Guid CompanyId, string Email, string Password)> OnboardCompanyAsync(string slug)
    {
        using var admin = await AsAdminAsync();
        var email = $"admin@{slug}.example";
        const string password = "a long company password";
        using var response = await admin.PostAsJsonAsync("/api/v1/agencies", new
        {
            name = slug, slug, timezone = "America/Chicago",
            admin = new { email, password, firstName = "Ada", lastName = "Admin" },
        });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (body.RootElement.GetProperty("agency").GetProperty("id").GetGuid(), email, password);
    }
}

public sealed record Tokens(string AccessToken, string RefreshToken, int ExpiresIn, string TokenType);
