using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Dispatch.AppHost;

/// <summary>
/// A health check that notices readiness within a fifth of a second. Aspire checks a resource that is not healthy yet after 1 s,
/// then 2, 3, 4 and 5 s more: a host that turns ready 7 s after it started is seen at 10 s, and everything waiting on it (the
/// hosts on the database, the banner on the Api) waits those seconds too. This check asks again every 200 ms for up to 5 s
/// before it answers unhealthy, so Aspire's next look finds the resource ready the moment it is.
/// </summary>
public sealed class PromptHealth(Func<CancellationToken, Task<string?>> probe) : IHealthCheck
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(200);

    /// <param name="probe">Null when ready; otherwise why not.</param>
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var until = DateTime.UtcNow + Patience;
        while (true)
        {
            var notReady = await probe(cancellationToken);
            if (notReady is null) return HealthCheckResult.Healthy();
            if (DateTime.UtcNow + Step > until) return HealthCheckResult.Unhealthy(notReady);
            await Task.Delay(Step, cancellationToken);
        }
    }

    /// <summary>Ready when <paramref name="url"/> answers 2xx.</summary>
    /// <param name="url">Asked at each check: an endpoint's URL is known only once it is allocated.</param>
    public static PromptHealth Http(HttpClient client, Func<string> url) => new(async cancellationToken =>
    {
        try
        {
            using var response = await client.GetAsync(url(), cancellationToken);
            return response.IsSuccessStatusCode ? null : $"/health answers {(int)response.StatusCode}";
        }
        catch (HttpRequestException e)
        {
            return $"not answering yet ({e.Message})";
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return "/health did not answer in time";
        }
    });
}
