using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;

namespace Dispatch.Api.Http;

/// <summary>How many requests the Api works on at once (<c>Dispatch:Api:Admission</c>).</summary>
public sealed class AdmissionOptions
{
    public const string Section = "Dispatch:Api:Admission";

    /// <summary>Requests worked on at once; the default is four per core.</summary>
    public int MaxConcurrentRequests { get; set; } = Environment.ProcessorCount * 4;

    /// <summary>Requests waiting their turn, oldest first; beyond that the Api answers 503 with <c>Retry-After</c>.</summary>
    public int QueueLimit { get; set; } = 5000;

    /// <summary>Live event streams (consoles' boards) open at once, counted apart from requests.</summary>
    public int MaxLiveStreams { get; set; } = 1000;
}

/// <summary>The routes that stream for as long as a screen is open.</summary>
public static class LiveStreams
{
    public const string Path = "/api/v1/incidents/events";
}

/// <summary>
/// A crowd waits its turn instead of being worked on all at once. A hundred clients at once on one incident would otherwise put
/// a hundred requests' authentication, validation and queries on the thread pool together, and every step of the grain turn
/// they wait for (a commit, the hand-over of its deliveries, a reminder) would queue behind all of them: the one write everyone
/// waits on would take seconds and the grain calls behind it would run out of time (503). Admitted a few per core, oldest first,
/// each request is worked on at full speed and the grain's turn is not starved; the crowd is served in order, none refused.
/// Health and liveness probes are never queued.
/// </summary>
public static class RequestAdmission
{
    public static WebApplicationBuilder AddRequestAdmission(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(AdmissionOptions.Section).Get<AdmissionOptions>() ?? new();
        if (options.MaxConcurrentRequests < 1 || options.QueueLimit < 0)
            throw new InvalidOperationException($"{AdmissionOptions.Section}: MaxConcurrentRequests must be at least 1 and QueueLimit at least 0 " +
                $"(they are {options.MaxConcurrentRequests} and {options.QueueLimit}).");
        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                context.Request.Path.StartsWithSegments("/health") || context.Request.Path.StartsWithSegments("/alive")
                    ? RateLimitPartition.GetNoLimiter("probes")
                    // A live screen's stream stays open for hours, doing nothing most of the time: it must not hold a request's
                    // turn. Streams have their own cap; past it a screen is told to come back (503) rather than queued.
                    : context.Request.Path.StartsWithSegments(LiveStreams.Path)
                    ? RateLimitPartition.GetConcurrencyLimiter("streams", _ => new ConcurrencyLimiterOptions
                    {
                        PermitLimit = options.MaxLiveStreams, QueueLimit = 0,
                    })
                    : RateLimitPartition.GetConcurrencyLimiter("requests", _ => new ConcurrencyLimiterOptions
                    {
                        PermitLimit = options.MaxConcurrentRequests,
                        QueueLimit = options.QueueLimit,
                        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                    }));
            limiter.OnRejected = async (rejected, _) => await Problems.UnavailableAsync(rejected.HttpContext,
                "Too many requests are waiting. Nothing was done: repeat the request (creates with the same Idempotency-Key).");
        });
        return builder;
    }
}
