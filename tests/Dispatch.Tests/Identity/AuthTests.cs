using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using Dispatch.Tests.Infrastructure;
using Npgsql;

namespace Dispatch.Tests.Identity;

public sealed class AuthTests : IdentityHost
{
    private const string DanaEmail = "dana@metro911.example", DanaPassword = "dispatching all day";

    private Task<HttpResponseMessage> RefreshAsync(string token) =>
        Anonymous.PostAsJsonAsync("/api/v1/auth/refresh", new { refreshToken = token });

    /// <summary>Dana, a PSAP dispatcher, created by the admin; her id and her role's.</summary>
    private static async Task<(Guid UserId, Guid RoleId)> CreateDanaAsync(HttpClient admin)
    {
        var roles = (await admin.GetFromJsonAsync<JsonObject>("/api/v1/roles"))!["items"]!.AsArray();
        var dispatcherRole = roles.First(r => r!["slug"]!.GetValue<string>() == "psap-dispatcher")!["id"]!.GetValue<Guid>();
        using var created = await admin.PostAsJsonAsync("/api/v1/users", new
        {
            email = DanaEmail, password = DanaPassword, firstName = "Dana", lastName = "D", roleId = dispatcherRole,
        });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return ((await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>(), dispatcherRole);
    }

    [Fact]
    public async Task Login_gives_a_short_lived_access_token_that_opens_the_api_and_records_the_login()
    {
        var tokens = await LoginAsync();

        using var client = As("Bearer " + tokens.AccessToken);
        using var users = await client.GetAsync("/api/v1/users");

        Assert.Equal(900, tokens.ExpiresIn);
        Assert.Equal(HttpStatusCode.OK, users.StatusCode);
        using var body = JsonDocument.Parse(await users.Content.ReadAsStringAsync());
        var admin = body.RootElement.GetProperty("items")[0];
        Assert.Equal(AdminEmail, admin.GetProperty("email").GetString());
        Assert.NotEqual(JsonValueKind.Null, admin.GetProperty("lastLoginAt").ValueKind);
        Assert.False(admin.TryGetProperty("passwordHash", out _));
    }

    [Fact]
    public async Task Refresh_rotates_and_replaying_a_spent_token_revokes_the_whole_family()
    {
        var first = await LoginAsync();
        using var r2 = await RefreshAsync(first.RefreshToken);
        var second = (await r2.Content.ReadFromJsonAsync<Tokens>())!;
        using var r3 = await RefreshAsync(second.RefreshToken);
        var third = (await r3.Content.ReadFromJsonAsync<Tokens>())!;
        var otherLogin = await LoginAsync();

        using var replay = await RefreshAsync(first.RefreshToken);
        using var afterTheft = await RefreshAsync(third.RefreshToken);
        using var unrelated = await RefreshAsync(otherLogin.RefreshToken);

        Assert.Equal(HttpStatusCode.OK, r2.StatusCode);
        Assert.NotEqual(first.RefreshToken, second.RefreshToken);
        Assert.Equal(HttpStatusCode.Unauthorized, replay.StatusCode);
        Assert.Equal("application/problem+json", replay.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Unauthorized, afterTheft.StatusCode);
        Assert.Equal(HttpStatusCode.OK, unrelated.StatusCode);
    }

    [Fact]
    public async Task Logout_revokes_the_refresh_token()
    {
        var tokens = await LoginAsync();

        using var logout = await Anonymous.PostAsJsonAsync("/api/v1/auth/logout", new { refreshToken = tokens.RefreshToken });
        using var refresh = await RefreshAsync(tokens.RefreshToken);

        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, refresh.StatusCode);
    }

    [Fact]
    public async Task A_deactivated_user_cannot_log_in_refresh_or_use_a_token_still_in_hand()
    {
        using var admin = await AsAdminAsync();
        var (userId, _) = await CreateDanaAsync(admin);
        var tokens = await LoginAsync(DanaEmail, DanaPassword);
        using var client = As("Bearer " + tokens.AccessToken);
        using var before = await client.GetAsync("/api/v1/users"); // the Api now holds what Dana may do

        using var deactivate = await admin.PostAsync($"/api/v1/users/{userId}/deactivate", null);
        using var login = await PostLoginAsync(DanaEmail, DanaPassword);
        using var refresh = await RefreshAsync(tokens.RefreshToken);
        using var call = await client.GetAsync("/api/v1/users");

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Equal(HttpStatusCode.OK, deactivate.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, refresh.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, call.StatusCode);
        await using var c = new NpgsqlConnection(ConnectionString);
        Assert.Equal(0, await c.ExecuteScalarAsync<int>("select count(*) from jwt_refresh_tokens where user_id = @userId and revoked_at is null", new { userId }));
    }

    [Fact]
    public async Task A_change_made_outside_this_api_reaches_a_token_in_hand_once_the_database_announces_it()
    {
        using var admin = await AsAdminAsync();
        var (userId, dispatcherRole) = await CreateDanaAsync(admin);
        using var dana = As("Bearer " + (await LoginAsync(DanaEmail, DanaPassword)).AccessToken);
        async Task<HttpStatusCode> UsersAsync()
        {
            using var response = await dana.GetAsync("/api/v1/users");
            return response.StatusCode;
        }
        Assert.Equal(HttpStatusCode.OK, await UsersAsync()); // held by the Api from here on
        Assert.Equal(HttpStatusCode.OK, await UsersAsync());

        // Another Api instance, or an operator at the database, changes the role and then the user: no request through this
        // Api says so, the database's announcement does.
        await using var owner = new NpgsqlConnection(ConnectionString);
        await owner.ExecuteAsync("update roles set permissions = permissions - 'users.read' where id = @dispatcherRole", new { dispatcherRole });
        await Wait.UntilAsync(async () => await UsersAsync() == HttpStatusCode.Forbidden, TimeSpan.FromSeconds(10));
        await owner.ExecuteAsync("update users set is_active = false where id = @userId", new { userId });
        await Wait.UntilAsync(async () => await UsersAsync() == HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Unknown_email_and_wrong_password_get_the_same_answer()
    {
        using var unknown = await PostLoginAsync("nobody@metro911.example", "whatever it is here");
        using var wrong = await PostLoginAsync(AdminEmail, "not the right password");

        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal(unknown.StatusCode, wrong.StatusCode);
        Assert.Equal(unknown.Content.Headers.ContentType?.ToString(), wrong.Content.Headers.ContentType?.ToString());
        Assert.Equal(WithoutTrace(await unknown.Content.ReadAsStringAsync()), WithoutTrace(await wrong.Content.ReadAsStringAsync()));
    }

    [Fact]
    public async Task Malformed_login_requests_get_field_errors()
    {
        using var response = await Anonymous.PostAsJsonAsync("/api/v1/auth/login", new { email = "" });
        using var garbage = await Anonymous.PostAsync("/api/v1/auth/login", new StringContent("{not json", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!.AsObject();
        Assert.True(errors.ContainsKey("email") && errors.ContainsKey("password"));
        Assert.Equal(HttpStatusCode.BadRequest, garbage.StatusCode);
        Assert.Equal("application/problem+json", garbage.Content.Headers.ContentType?.MediaType);
    }

    internal static string WithoutTrace(string problem)
    {
        var node = JsonNode.Parse(problem)!.AsObject();
        node.Remove("traceId");
        return node.ToJsonString();
    }
}

public sealed class LoginThrottleTests() : IdentityHost(new Dictionary<string, string?>
{
    ["Dispatch:Auth:MaxFailuresPerAccount"] = "3",
    ["Dispatch:Auth:MaxFailuresPerAddress"] = "6",
})
{
    [Fact]
    public async Task Repeated_failures_on_an_account_are_answered_429_with_retry_after_even_for_the_right_password()
    {
        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.Unauthorized, (await PostLoginAsync(AdminEmail, "wrong password " + i)).StatusCode);

        using var locked = await PostLoginAsync(AdminEmail, AdminPassword);

        Assert.Equal(HttpStatusCode.TooManyRequests, locked.StatusCode);
        Assert.True(locked.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.Equal("application/problem+json", locked.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Failures_across_many_accounts_from_one_address_are_throttled_too()
    {
        for (var i = 0; i < 6; i++)
            Assert.Equal(HttpStatusCode.Unauthorized, (await PostLoginAsync($"guess{i}@example.org", "password guess here")).StatusCode);

        using var next = await PostLoginAsync("guess-new@example.org", "password guess here");

        Assert.Equal(HttpStatusCode.TooManyRequests, next.StatusCode);
    }
}
