using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using Dispatch.Api.Auth;
using Dispatch.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Dispatch.Tests.Identity;

public sealed class IdentityApiTests : IdentityHost
{
    // Lists that answer a bare array come back as {"items": [...]}, like the paginated ones.
    private static new async Task<(HttpStatusCode Status, JsonObject Body)> SendAsync(HttpClient client, HttpMethod method, string path, object? body = null)
    {
        var (status, node) = await IdentityHost.SendAsync(client, method, path, body);
        return (status, node as JsonObject ?? (node is null ? new JsonObject() : new JsonObject { ["items"] = node }));
    }

    [Fact]
    public async Task A_psap_onboards_a_company_whose_admin_then_manages_only_its_own_agency()
    {
        var (companyId, email, password) = await OnboardCompanyAsync("gasco");
        using var company = As("Bearer " + (await LoginAsync(email, password)).AccessToken);
        using var psap = await AsAdminAsync();
        var psapId = (await SendAsync(psap, HttpMethod.Get, "/api/v1/users")).Body["items"]![0]!["agencyId"]!.GetValue<Guid>();

        var agencies = (await SendAsync(company, HttpMethod.Get, "/api/v1/agencies")).Body["items"]!.AsArray();
        var users = (await SendAsync(company, HttpMethod.Get, "/api/v1/users")).Body["items"]!.AsArray();
        var onboardAnother = await SendAsync(company, HttpMethod.Post, "/api/v1/agencies",
            new { name = "Sub", timezone = "UTC", admin = new { email = "a@sub.example", password = "a long sub password", firstName = "A", lastName = "B" } });
        var renameSelf = await SendAsync(company, HttpMethod.Patch, $"/api/v1/agencies/{companyId}", new { timezone = "America/Denver" });
        var renamePsap = await SendAsync(company, HttpMethod.Patch, $"/api/v1/agencies/{psapId}", new { name = "Taken over" });

        Assert.Equal(new[] { companyId, psapId }.Order(), agencies.Select(a => a!["id"]!.GetValue<Guid>()).Order());
        Assert.Equal([email], users.Select(u => u!["email"]!.GetValue<string>()));
        Assert.Equal("company-admin", users[0]!["roleSlug"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Forbidden, onboardAnother.Status);
        Assert.Equal((HttpStatusCode.OK, "America/Denver"), (renameSelf.Status, renameSelf.Body["timezone"]!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.Forbidden, renamePsap.Status);

        var deactivate = await SendAsync(psap, HttpMethod.Post, $"/api/v1/agencies/{companyId}/deactivate");
        using var login = await PostLoginAsync(email, password);
        Assert.Equal(HttpStatusCode.OK, deactivate.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
    }

    [Fact]
    public async Task Bad_agency_and_user_input_gets_field_errors_and_conflicts_get_409()
    {
        using var admin = await AsAdminAsync();
        await OnboardCompanyAsync("towco");

        var badZone = await SendAsync(admin, HttpMethod.Post, "/api/v1/agencies",
            new { name = "X", timezone = "Mars/Olympus", admin = new { email = "x@x.example", password = "short", firstName = "", lastName = "L" } });
        var duplicateSlug = await SendAsync(admin, HttpMethod.Post, "/api/v1/agencies",
            new { name = "Tow", slug = "towco", admin = new { email = "other@tow.example", password = "towing trucks all night", firstName = "T", lastName = "W" } });
        var duplicateEmail = await SendAsync(admin, HttpMethod.Post, "/api/v1/users",
            new { email = AdminEmail, password = "a perfectly fine one", firstName = "C", lastName = "D", roleId = Guid.NewGuid() });
        var badPaging = await SendAsync(admin, HttpMethod.Get, "/api/v1/users?pageSize=5000");

        Assert.Equal(HttpStatusCode.BadRequest, badZone.Status);
        Assert.Equal(new[] { "admin.firstName", "admin.password", "timezone" }, badZone.Body["errors"]!.AsObject().Select(e => e.Key).Order());
        Assert.Equal(HttpStatusCode.Conflict, duplicateSlug.Status);
        Assert.Equal(HttpStatusCode.BadRequest, duplicateEmail.Status); // unknown role first
        Assert.Equal(HttpStatusCode.BadRequest, badPaging.Status);
    }

    [Fact]
    public async Task Custom_roles_grant_only_what_the_agency_type_allows_and_take_effect_on_the_next_request()
    {
        using var admin = await AsAdminAsync();
        var companyOnly = await SendAsync(admin, HttpMethod.Post, "/api/v1/roles", new { name = "Acker", slug = "acker", permissions = new[] { "incidents.ack" } });
        var readers = await SendAsync(admin, HttpMethod.Post, "/api/v1/roles", new { name = "Readers", slug = "readers", permissions = new[] { "users.read" } });
        var roleId = readers.Body["id"]!.GetValue<Guid>();
        var user = await SendAsync(admin, HttpMethod.Post, "/api/v1/users",
            new { email = "reader@metro911.example", password = "reading is my job", firstName = "R", lastName = "R", roleId });
        using var reader = As("Bearer " + (await LoginAsync("reader@metro911.example", "reading is my job")).AccessToken);

        var canRead = await SendAsync(reader, HttpMethod.Get, "/api/v1/users");
        await SendAsync(admin, HttpMethod.Patch, $"/api/v1/roles/{roleId}", new { permissions = Array.Empty<string>() });
        var cannotAnyMore = await SendAsync(reader, HttpMethod.Get, "/api/v1/users");
        var deleteHeld = await SendAsync(admin, HttpMethod.Delete, $"/api/v1/roles/{roleId}");

        Assert.Equal(HttpStatusCode.BadRequest, companyOnly.Status);
        Assert.Equal(HttpStatusCode.Created, user.Status);
        Assert.Equal(HttpStatusCode.OK, canRead.Status);
        Assert.Equal(HttpStatusCode.Forbidden, cannotAnyMore.Status);
        Assert.Equal(HttpStatusCode.Conflict, deleteHeld.Status);
    }

    [Fact]
    public async Task An_api_key_is_shown_once_carries_its_scopes_and_stops_working_when_revoked()
    {
        using var admin = await AsAdminAsync();
        var tooMuch = await SendAsync(admin, HttpMethod.Post, "/api/v1/api-keys", new { name = "k", scopes = new[] { "incidents.ack" } });
        var created = await SendAsync(admin, HttpMethod.Post, "/api/v1/api-keys", new { name = "reporting", scopes = new[] { "users.read" } });
        var key = created.Body["key"]!.GetValue<string>();
        var id = created.Body["apiKey"]!["id"]!.GetValue<Guid>();
        using var system = As("ApiKey " + key);

        var read = await SendAsync(system, HttpMethod.Get, "/api/v1/users");
        var write = await SendAsync(system, HttpMethod.Post, "/api/v1/roles", new { name = "n", slug = "n", permissions = Array.Empty<string>() });
        await Api.Services.GetRequiredService<CredentialUsage>().FlushAsync();
        var listed = await SendAsync(admin, HttpMethod.Get, "/api/v1/api-keys");
        await SendAsync(admin, HttpMethod.Delete, $"/api/v1/api-keys/{id}");
        var afterRevoke = await SendAsync(system, HttpMethod.Get, "/api/v1/users");

        Assert.Equal(HttpStatusCode.BadRequest, tooMuch.Status);
        Assert.StartsWith(created.Body["apiKey"]!["keyPrefix"]!.GetValue<string>() + "_", key);
        Assert.Equal(HttpStatusCode.OK, read.Status);
        Assert.Equal(HttpStatusCode.Forbidden, write.Status);
        Assert.DoesNotContain(key, listed.Body.ToJsonString());
        Assert.NotNull(listed.Body["items"]![0]!["lastUsedAt"]?.GetValue<DateTimeOffset>());
        Assert.Equal(HttpStatusCode.Unauthorized, afterRevoke.Status);
    }

    [Fact]
    public async Task A_command_connection_gets_its_own_key_and_an_encrypted_callback_secret()
    {
        using var admin = await AsAdminAsync();
        var publicHttp = await SendAsync(admin, HttpMethod.Post, "/api/v1/command-connections",
            new { name = "CAD", ackMode = "callback", publicUrl = "http://cad.example.com/acks" });
        var noUrl = await SendAsync(admin, HttpMethod.Post, "/api/v1/command-connections", new { name = "CAD", ackMode = "callback" });
        var created = await SendAsync(admin, HttpMethod.Post, "/api/v1/command-connections",
            new { name = "CAD", ackMode = "callback", publicUrl = "http://127.0.0.1:9/acks" });
        var key = created.Body["apiKey"]!.GetValue<string>();
        var secret = created.Body["callbackSecret"]!.GetValue<string>();
        using var cad = As("ApiKey " + key);

        var call = await SendAsync(cad, HttpMethod.Get, "/api/v1/users");
        await Api.Services.GetRequiredService<CredentialUsage>().FlushAsync();
        var seen = await SendAsync(admin, HttpMethod.Get, $"/api/v1/command-connections/{created.Body["connection"]!["id"]}");

        Assert.Equal(HttpStatusCode.BadRequest, publicHttp.Status);
        Assert.Equal(HttpStatusCode.BadRequest, noUrl.Status);
        Assert.Equal(HttpStatusCode.Created, created.Status);
        Assert.Equal(HttpStatusCode.Forbidden, call.Status); // known, but a CAD system may not manage users
        Assert.NotNull(seen.Body["lastSeenAt"]?.GetValue<DateTimeOffset>());
        Assert.True(seen.Body["hasCallbackSecret"]!.GetValue<bool>());
        await using var c = new NpgsqlConnection(ConnectionString);
        var raw = await c.ExecuteScalarAsync<byte[]>("select callback_secret from command_connections");
        Assert.DoesNotContain(secret, Encoding.Latin1.GetString(raw!));
    }

    [Fact]
    public async Task No_password_hash_token_or_key_appears_in_any_response_log_line_or_audit_row()
    {
        var responses = new StringBuilder();
        async Task<JsonObject> Record(Task<(HttpStatusCode, JsonObject Body)> call)
        {
            var (_, body) = await call;
            responses.AppendLine(body.ToJsonString());
            return body;
        }
        var tokens = await LoginAsync();
        responses.AppendLine(tokens.AccessToken); // the one place a token belongs
        using var admin = As("Bearer " + tokens.AccessToken);
        var role = await Record(SendAsync(admin, HttpMethod.Get, "/api/v1/roles"));
        var roleId = role["items"]!.AsArray().First(r => r!["slug"]!.GetValue<string>() == "psap-dispatcher")!["id"]!.GetValue<Guid>();
        var user = await Record(SendAsync(admin, HttpMethod.Post, "/api/v1/users",
            new { email = "leaky@metro911.example", password = "password-that-must-not-leak", firstName = "L", lastName = "K", roleId }));
        await Record(SendAsync(admin, HttpMethod.Patch, $"/api/v1/users/{user["id"]}", new { password = "another-secret-password" }));
        var key = await Record(SendAsync(admin, HttpMethod.Post, "/api/v1/api-keys", new { name = "k", scopes = new[] { "users.read" } }));
        var connection = await Record(SendAsync(admin, HttpMethod.Post, "/api/v1/command-connections", new { name = "cad", ackMode = "poll" }));
        await Record(SendAsync(admin, HttpMethod.Get, "/api/v1/users"));
        await Record(SendAsync(admin, HttpMethod.Get, "/api/v1/api-keys"));
        await Record(SendAsync(admin, HttpMethod.Get, "/api/v1/command-connections"));
        using var refreshed = await Anonymous.PostAsJsonAsync("/api/v1/auth/refresh", new { refreshToken = tokens.RefreshToken });
        var newRefresh = (await refreshed.Content.ReadFromJsonAsync<Tokens>())!.RefreshToken;
        await PostLoginAsync(AdminEmail, "a wrong password attempt");

        await using var c = new NpgsqlConnection(ConnectionString);
        var hashes = (await c.QueryAsync<string>("select password_hash from users union all select token_hash from jwt_refresh_tokens union all select key_hash from api_keys union all select api_key_hash from command_connections")).ToList();
        var audit = string.Join('\n', await c.QueryAsync<string>("select coalesce(before::text, '') || coalesce(after::text, '') from audit_logs"));
        var logs = string.Join('\n', Api.Logs.Lines);
        var secrets = new[]
        {
            AdminPassword, "password-that-must-not-leak", "another-secret-password", "a wrong password attempt", tokens.RefreshToken, newRefresh,
            connection["callbackSecret"]!.GetValue<string>(), key["key"]!.GetValue<string>(), connection["apiKey"]!.GetValue<string>(),
        }.Concat(hashes).ToList();
        var inResponses = responses.ToString().Replace(key["key"]!.GetValue<string>(), "").Replace(connection["apiKey"]!.GetValue<string>(), "")
            .Replace(connection["callbackSecret"]!.GetValue<string>(), ""); // shown once, by design

        Assert.NotEmpty(logs);
        Assert.Contains("user.password_changed", audit + string.Join(',', await c.QueryAsync<string>("select action from audit_logs")));
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, inResponses);
            Assert.DoesNotContain(secret, logs);
            Assert.DoesNotContain(secret, audit);
        }
    }

    [Fact]
    public async Task The_openapi_document_declares_both_schemes_and_secures_every_protected_operation()
    {
        var document = JsonNode.Parse(await Anonymous.GetStringAsync("/openapi/v1.json"))!;

        var schemes = document["components"]!["securitySchemes"]!.AsObject();
        var operations = document["paths"]!.AsObject()
            .SelectMany(p => p.Value!.AsObject().Select(o => (Path: p.Key, Method: o.Key, Operation: o.Value!)))
            .ToList();

        Assert.Equal(["ApiKey", "Bearer"], schemes.Select(s => s.Key).Order());
        Assert.True(operations.Count >= 20);
        foreach (var (path, method, operation) in operations.Where(o => !o.Path.StartsWith("/api/v1/auth")))
        {
            Assert.True(operation["security"]?.AsArray().Count == 2, $"{method} {path} declares no security");
            Assert.Contains("permission", operation["description"]?.GetValue<string>() ?? "");
        }
        // Every route value is a declared path parameter, also where the endpoint reads it itself.
        foreach (var (path, method, operation) in operations)
            foreach (var name in System.Text.RegularExpressions.Regex.Matches(path, @"\{(\w+)\}").Select(m => m.Groups[1].Value))
                Assert.True(operation["parameters"]?.AsArray().Any(p => p!["in"]!.GetValue<string>() == "path" && p["name"]!.GetValue<string>() == name) == true,
                    $"{method} {path} does not declare {name}");
        // CAD samples are files, not JSON; the configuration-less dry run also takes a form.
        var dryRun = operations.Single(o => o.Path == "/api/v1/cfs-configurations/{id}/dry-run").Operation["requestBody"]!["content"]!.AsObject();
        Assert.Equal(["application/xml"], dryRun.Select(c => c.Key));
        var propose = operations.Single(o => o.Path == "/api/v1/cfs-configurations/dry-run").Operation["requestBody"]!["content"]!.AsObject();
        Assert.Equal(["application/xml", "multipart/form-data"], propose.Select(c => c.Key));
        Assert.Equal(["fieldMappings", "file"], propose["multipart/form-data"]!["schema"]!["properties"]!.AsObject().Select(p => p.Key).Order());
    }
}
