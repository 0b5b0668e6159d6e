using System.Net;
using System.Net.Http.Json;
using Dispatch.Grains.Identity;
using Dispatch.Tests.Infrastructure;

namespace Dispatch.Tests.Api;

/// <summary>What every answer says about itself: no sniffing, no referrer, no framing of pages, no caching of secrets, no server banner; and a 403 names the permission.</summary>
public sealed class SecurityHeadersTests : IdentityHost
{
    private static void AssertBaseline(HttpResponseMessage response)
    {
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        Assert.False(response.Headers.Contains("Server"), "the answer names its server");
    }

    [Fact]
    public async Task Token_responses_and_authenticated_answers_are_never_cached()
    {
        using var login = await PostLoginAsync(AdminEmail, AdminPassword);
        var token = (await login.Content.ReadFromJsonAsync<Tokens>())!.AccessToken;
        using var admin = As("Bearer " + token);
        using var users = await admin.GetAsync("/api/v1/users");
        using var health = await Anonymous.GetAsync("/alive");

        foreach (var response in new[] { login, users })
        {
            AssertBaseline(response);
            Assert.True(response.Headers.CacheControl?.NoStore, $"{response.RequestMessage!.RequestUri} may be cached");
        }
        AssertBaseline(health);
    }

    [Fact]
    public async Task The_acknowledgement_page_cannot_be_framed_or_load_anything()
    {
        using var page = await Anonymous.GetAsync("/hooks/email/ack?n=x&a=y&u=z&e=1&s=bad");

        Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        AssertBaseline(page);
        var policy = page.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("frame-ancestors 'none'", policy);
        Assert.Contains("default-src 'none'", policy);
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());
        Assert.True(page.Headers.CacheControl?.NoStore);
    }

    [Fact]
    public async Task A_403_names_the_missing_permission()
    {
        using var admin = await AsAdminAsync();
        var key = await SendAsync(admin, HttpMethod.Post, "/api/v1/api-keys", new { name = "reader", scopes = new[] { Permissions.UsersRead } });
        using var reader = As("ApiKey " + key.Body!["key"]!.GetValue<string>());

        using var response = await reader.PostAsJsonAsync("/api/v1/incidents", new { priority = "critical", title = "x" });
        var problem = await response.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>();

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("'incidents.create'", problem!["detail"]!.GetValue<string>());
        Assert.Equal(Permissions.IncidentsCreate, problem["missingPermission"]!.GetValue<string>());
    }
}
