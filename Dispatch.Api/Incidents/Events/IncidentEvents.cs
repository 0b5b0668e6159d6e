using System.Runtime.CompilerServices;
using FastEndpoints;

namespace Dispatch.Api.Incidents.Events;

/// <summary>
/// <c>GET /api/v1/incidents/events</c>: a server-sent event stream of the caller's agency's incident changes, pushed from the
/// incident grains as they commit — <c>ready</c> once the subscription stands (a screen then reads what it shows), an
/// <c>incident</c> event per change (<c>{"incidentId", "change", "at"}</c>: read the incident through the API to see it), and a
/// <c>ping</c> every 15 s so that proxies keep the stream open. Authenticated like any call (a bearer token in the header).
/// </summary>
public sealed class IncidentEvents(IncidentFeeds feeds, TimeProvider time) : EndpointWithoutRequest
{
    private static readonly TimeSpan Ping = TimeSpan.FromSeconds(15);

    public override void Configure()
    {
        Get("/events");
        Group<IncidentsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.IncidentsRead));
        Description(d => d.WithName("IncidentEvents").Produces(200, contentType: "text/event-stream")
            .WithSummary("Live: a server-sent event per change to an incident the caller's agency sees."));
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        using var watcher = await feeds.WatchAsync(User.AgencyId(), ct);
        HttpContext.Response.Headers.CacheControl = "no-store";
        await Send.EventStreamAsync(Stream(watcher, ct), ct);
    }

    private async IAsyncEnumerable<StreamItem> Stream(IncidentFeeds.Watcher watcher, [EnumeratorCancellation] CancellationToken ct)
    {
        yield return Item("ready", new { at = time.GetUtcNow() });
        while (!ct.IsCancellationRequested)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            wait.CancelAfter(Ping);
            IncidentEvent? change = null;
            try
            {
                if (await watcher.Events.WaitToReadAsync(wait.Token)) watcher.Events.TryRead(out change);
                else yield break;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
            }
            yield return change is null ? Item("ping", new { at = time.GetUtcNow() }) : Item("incident", change);
        }
    }

    private static StreamItem Item(string type, object data) => new(Guid.NewGuid().ToString("N"), type, data);
}
