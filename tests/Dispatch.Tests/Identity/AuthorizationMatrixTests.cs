using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using Dispatch.Api.Http;
using Dispatch.Grains.Identity;
using Dispatch.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Npgsql;

namespace Dispatch.Tests.Identity;

/// <summary>
/// PSAP A (the bootstrap agency) owns a custom role, an API key and a command connection; PSAP Q is
/// unrelated. Credentials that must not get in: none, an expired token, Q's admin, A's user whose role
/// has no permission, A's revoked key, A's expired key, A's key whose scope is unrelated.
/// </summary>
public sealed class AuthorizationWorld : IdentityHost
{
    public readonly Dictionary<string, string?> Credentials = new();
    public readonly Dictionary<string, Guid> ResourceOfA = new();
    public readonly List<string> SecretsOfA = [];
    private readonly DirectoryInfo _inbox = new DirectoryInfo(Dispatch.Testing.TestRun.NewFolder("matrix-"));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _inbox.Delete(recursive: true);
    }

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        using var admin = await AsAdminAsync();
        var adminId = (await admin.GetFromJsonAsync<JsonObject>("/api/v1/users"))!["items"]![0]!["id"]!.GetValue<Guid>();
        var agencyA = (await admin.GetFromJsonAsync<JsonObject>("/api/v1/users"))!["items"]![0]!["agencyId"]!.GetValue<Guid>();

        var role = await PostAsync(admin, "/api/v1/roles", new { name = "Observer", slug = "observer", permissions = Array.Empty<string>() });
        await PostAsync(admin, "/api/v1/users", new
        {
            email = "observer@metro911.example", password = "observing quietly", firstName = "O", lastName = "B", roleId = role["id"]!.GetValue<Guid>(),
        });
        var key = await PostAsync(admin, "/api/v1/api-keys", new { name = "cad", scopes = Permissions.AllowedFor(AgencyType.Psap) });
        var revoked = await PostAsync(admin, "/api/v1/api-keys", new { name = "old", scopes = new[] { Permissions.UsersRead } });
        var expired = await PostAsync(admin, "/api/v1/api-keys", new { name = "stale", scopes = Permissions.AllowedFor(AgencyType.Psap) });
        var unscoped = await PostAsync(admin, "/api/v1/api-keys", new { name = "audit only", scopes = new[] { Permissions.AuditRead } });
        var connection = await PostAsync(admin, "/api/v1/command-connections", new { name = "CAD", ackMode = "poll" });
        var incident = await PostAsync(admin, "/api/v1/incidents", new { priority = "critical", title = "Tanker rollover", agencyIds = Array.Empty<Guid>() });
        var cfs = await PostAsync(admin, "/api/v1/cfs-configurations", new
        {
            name = "Metro CAD", inboxPath = _inbox.FullName, fieldMappings = new { fields = new { externalId = new { xpath = "@id" } } },
            isActive = false,
        });
        var eido = await PostAsync(admin, "/api/v1/eido-subscriptions", new
        {
            name = "Metro NG9-1-1", commandConnectionId = connection["connection"]!["id"]!.GetValue<Guid>(),
            credentials = new { authorization = "Bearer metro-notifier-token" },
        });
        await admin.DeleteAsync($"/api/v1/api-keys/{revoked["apiKey"]!["id"]}");
        await using (var c = new NpgsqlConnection(ConnectionString))
        {
            await c.ExecuteAsync("update api_keys set expires_at = now() - interval '1 minute' where id = @id",
                new { id = expired["apiKey"]!["id"]!.GetValue<Guid>() });
            // An unrelated PSAP with an admin of its own.
            var q = await c.ExecuteScalarAsync<Guid>("insert into agencies (name, slug, agency_type) values ('Other 911', 'other-911', 'psap') returning id");
            await c.ExecuteAsync("""
                insert into users (agency_id, role_id, email, password_hash)
                select @q, id, 'chief@other911.example', @hash from roles where slug = 'psap-admin' and agency_id is null
                """, new { q, hash = Users.HashPassword("the other chief's password") });
        }

        Credentials["anonymous"] = null;
        Credentials["expired token"] = "Bearer " + ExpiredToken(adminId, agencyA);
        Credentials["token of another agency"] = "Bearer " + (await LoginAsync("chief@other911.example", "the other chief's password")).AccessToken;
        Credentials["missing permission"] = "Bearer " + (await LoginAsync("observer@metro911.example", "observing quietly")).AccessToken;
        Credentials["revoked API key"] = "ApiKey " + revoked["key"]!.GetValue<string>();
        Credentials["expired API key"] = "ApiKey " + expired["key"]!.GetValue<string>();
        Credentials["API key without the scope"] = "ApiKey " + unscoped["key"]!.GetValue<string>();

        ResourceOfA["agencies"] = agencyA;
        ResourceOfA["users"] = adminId;
        ResourceOfA["roles"] = role["id"]!.GetValue<Guid>();
        ResourceOfA["api-keys"] = key["apiKey"]!["id"]!.GetValue<Guid>();
        ResourceOfA["command-connections"] = connection["connection"]!["id"]!.GetValue<Guid>();
        ResourceOfA["incidents"] = incident["incident"]!["id"]!.GetValue<Guid>();
        ResourceOfA["transport-channels"] = Guid.NewGuid(); // a PSAP has none: company configuration
        ResourceOfA["notification-rules"] = Guid.NewGuid();
        ResourceOfA["notifications"] = Guid.NewGuid(); // a PSAP is notified of nothing here
        ResourceOfA["escalation-rules"] = Guid.NewGuid();
        ResourceOfA["cfs-configurations"] = cfs["id"]!.GetValue<Guid>();
        ResourceOfA["cfs-incidents"] = Guid.NewGuid(); // nothing imported here
        ResourceOfA["eido-subscriptions"] = eido["id"]!.GetValue<Guid>();
        SecretsOfA.AddRange([AdminEmail, "observer@metro911.example", "Metro 911", "Observer", key["apiKey"]!["keyPrefix"]!.GetValue<string>(),
            connection["connection"]!["apiKeyPrefix"]!.GetValue<string>(), agencyA.ToString(), "Tanker rollover", "Metro NG9-1-1",
            "metro-notifier-token"]);
    }

    private static async Task<JsonObject> PostAsync(HttpClient client, string path, object body)
    {
        using var response = await client.PostAsJsonAsync(path, body);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private string ExpiredToken(Guid userId, Guid agencyId)
    {
        var past = DateTime.UtcNow.AddHours(-1);
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "dispatch", Audience = "dispatch-api", IssuedAt = past, NotBefore = past, Expires = past.AddMinutes(15),
            Subject = new ClaimsIdentity([new Claim("sub", userId.ToString()), new Claim("agency_id", agencyId.ToString())]),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(SigningKey), SecurityAlgorithms.HmacSha256),
        });
    }
}

public sealed class AuthorizationMatrixTests(AuthorizationWorld world) : IClassFixture<AuthorizationWorld>
{
    /// <summary>Every /api/v1 route that requires a permission, as the running Api maps it.</summary>
    private IReadOnlyList<(string Method, string Pattern, string Permission)> Endpoints() =>
        world.Api.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/v1/") == true)
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []).Select(m =>
                (m, e.RoutePattern.RawText!, e.Metadata.GetMetadata<RequiresPermission>()?.Permission ?? "")))
            .ToList();

    [Fact]
    public void Every_endpoint_but_login_refresh_and_logout_requires_a_permission()
    {
        var endpoints = Endpoints();

        Assert.True(endpoints.Count >= 20, $"only {endpoints.Count} endpoints found");
        Assert.Equal(["/api/v1/auth/login", "/api/v1/auth/logout", "/api/v1/auth/refresh"],
            endpoints.Where(e => e.Permission == "").Select(e => e.Pattern).Order());
    }

    [Theory]
    [InlineData("anonymous", 401)]
    [InlineData("expired token", 401)]
    [InlineData("revoked API key", 401)]
    [InlineData("expired API key", 401)]
    [InlineData("missing permission", 403)]
    [InlineData("API key without the scope", 403)]
    [InlineData("token of another agency", 0)]
    public async Task Every_endpoint_turns_away_the_wrong_credentials_with_problem_details_and_no_data(string credential, int expected)
    {
        var failures = new List<string>();
        foreach (var (method, pattern, permission) in Endpoints().Where(e => e.Permission != ""))
        {
            var path = pattern.Contains("{id") ? pattern.Replace("{id:guid}", world.ResourceOfA[pattern.Split('/')[3]].ToString()) : pattern;
            if (credential == "token of another agency" && !pattern.Contains("{id")) continue; // its own collections are its own business
            using var client = world.Credentials[credential] is { } auth ? world.As(auth) : world.Api.CreateClient();
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (method is "POST" or "PATCH" or "PUT") request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
            using var response = await client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();

            var status = (int)response.StatusCode;
            var statusOk = expected == 0 ? status is 403 or 404 : status == expected;
            if (!statusOk) failures.Add($"{method} {pattern} ({permission}): {status}, expected {(expected == 0 ? "403/404" : expected)}");
            if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
                failures.Add($"{method} {pattern}: {response.Content.Headers.ContentType} is not problem details");
            foreach (var secret in world.SecretsOfA.Where(s => body.Contains(s, StringComparison.OrdinalIgnoreCase)))
                failures.Add($"{method} {pattern}: the answer reveals '{secret}'");
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }
}
