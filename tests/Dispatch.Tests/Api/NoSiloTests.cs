using System.Net;
using System.Net.Http.Json;
using Dispatch.Tests.Deliveries;

namespace Dispatch.Tests.Api;

/// <summary>An Api whose cluster has no silo at all: queries are served, every command answers 503 with Retry-After, never 500.</summary>
[Trait("Tier", "Full")] // real processes: a Silo, the Api or the AppHost
public sealed class NoSiloTests : DeliveryWorld
{
    protected override bool RunsSilo => false;

    [Fact]
    public async Task Commands_answer_503_with_retry_after_and_queries_are_served()
    {
        var (gasco, email, password) = await OnboardCompanyAsync("gasco");
        using var company = As("Bearer " + (await LoginAsync(email, password)).AccessToken);

        using var incident = await Admin.PostAsJsonAsync("/api/v1/incidents",
            new { priority = "critical", title = "Gas smell", description = "", agencyIds = new[] { gasco } });
        using var channel = await company.PostAsJsonAsync("/api/v1/transport-channels", new { transportType = "email", name = "ops", config = new { } });
        using var rule = await company.PostAsJsonAsync("/api/v1/escalation-rules",
            new { ackTimeoutSeconds = 60, escalationOrder = new[] { new { roleSlugs = new[] { "company-responder" } } } });
        using var list = await Admin.GetAsync("/api/v1/incidents");

        foreach (var refused in new[] { incident, channel, rule })
        {
            Assert.True(refused.StatusCode == HttpStatusCode.ServiceUnavailable,
                $"{refused.StatusCode}: {await refused.Content.ReadAsStringAsync()}\n{string.Join('\n', Api.Logs.Lines.Where(l => l.Contains("Exception")))}");
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            Assert.NotNull(refused.Headers.RetryAfter);
        }
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
    }
}
