using System.Net;
using System.Security.Claims;
using Dispatch.Api.Auth;
using Dispatch.Api.Http;
using Dispatch.Grains.Identity;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Notifications;
using Dispatch.Grains.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Dispatch.Api.Notifications;

public static class AcknowledgementsApi
{
    public static IEndpointRouteBuilder MapAcknowledgementsApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/v1/notifications/{id:guid}/ack", AcknowledgeAsync).WithTags("Acknowledgements").WithName("AcknowledgeNotification")
            .WithSummary("A company user acknowledges a notification for their company; repeating it reports the first acknowledgement.")
            .RequirePermission(Permissions.IncidentsAck);

        // The signed link in a message: GET shows a confirmation page, only its button (POST) acknowledges.
        var hooks = app.MapGroup(AckLinks.Path).WithTags("Inbound hooks").AllowAnonymous().ExcludeFromDescription();
        hooks.MapGet("/", ConfirmPageAsync);
        hooks.MapPost("/", AcknowledgeFromLinkAsync).DisableAntiforgery();
        return app;
    }

    public static async Task<Results<Ok<Acknowledgement>, NotFound>> AcknowledgeAsync(Guid id, ClaimsPrincipal caller, DispatchStore store, IClusterClient grains)
    {
        var ack = await AcknowledgeNotificationAsync(store, grains, caller.ToAgencyContext(), id, AckSource.Api);
        if (ack is null) return TypedResults.NotFound();
        AckMetrics.Record(ack);
        return TypedResults.Ok(ack);
    }

    /// <summary>Finds the notification's incident (as the caller sees it) and acknowledges through that incident's grain.</summary>
    private static async Task<Acknowledgement?> AcknowledgeNotificationAsync(DispatchStore store, IClusterClient grains, AgencyContext caller,
        Guid notificationId, string source)
    {
        Guid? incidentId;
        await using (var scope = await store.BeginAsync(caller))
            incidentId = await scope.ExecuteScalarAsync<Guid?>("select incident_id from notifications where id = @notificationId", new { notificationId });
        if (incidentId is null) return null;
        return (await grains.GetGrain<IIncidentGrain>(incidentId.Value).AcknowledgeAsync(caller, notificationId, source)).Acknowledgement;
    }

    private static async Task<ContentHttpResult> ConfirmPageAsync(HttpRequest request, AckLinks? links, DispatchStore store, TimeProvider time)
    {
        var q = request.Query;
        if (links?.Verify(q["n"], q["a"], q["u"], q["e"], q["s"], time.GetUtcNow()) is not { } link)
            return Page(HttpStatusCode.NotFound, "This acknowledgement link is not valid or has expired.", null);
        await using var scope = await store.BeginAsync(new AgencyContext(link.AgencyId, link.UserId));
        var incidentId = await scope.ExecuteScalarAsync<Guid?>("select incident_id from notifications where id = @id", new { id = link.NotificationId });
        var incident = incidentId is null ? null : await IncidentStore.GetAsync(scope, incidentId.Value);
        if (incident is null) return Page(HttpStatusCode.NotFound, "This notification no longer exists.", null);
        var fields = string.Concat(links.Fields(link).Select(f =>
            $"""<input type="hidden" name="{f.Key}" value="{WebUtility.HtmlEncode(f.Value)}">"""));
        return Page(HttpStatusCode.OK, $"{WebUtility.HtmlEncode(incident.Title)} ({WebUtility.HtmlEncode(incident.Priority)})",
            $"""<form method="post" action="{AckLinks.Path}">{fields}<button type="submit">Acknowledge: my company is responding</button></form>""");
    }

    private static async Task<IResult> AcknowledgeFromLinkAsync(HttpRequest request, AckLinks? links, DispatchStore store, IClusterClient grains,
        TimeProvider time)
    {
        // Only the confirmation page's own form posts here.
        if (!request.HasFormContentType)
            return TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type",
                detail: "Acknowledge through the link's confirmation page: it posts a form (application/x-www-form-urlencoded).");
        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync();
        }
        catch (InvalidDataException)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad request", detail: "The form could not be read.");
        }
        if (links?.Verify(form["n"], form["a"], form["u"], form["e"], form["s"], time.GetUtcNow()) is not { } link)
            return Page(HttpStatusCode.NotFound, "This acknowledgement link is not valid or has expired.", null);
        var ack = await AcknowledgeNotificationAsync(store, grains, new AgencyContext(link.AgencyId, link.UserId), link.NotificationId, AckSource.EmailLink);
        if (ack is null) return Page(HttpStatusCode.NotFound, "This notification no longer exists.", null);
        AckMetrics.Record(ack);
        return Page(HttpStatusCode.OK, ack.Repeated ? $"Already acknowledged at {ack.AckedAt:u}." : "Acknowledged. Thank you.", null);
    }

    private static ContentHttpResult Page(HttpStatusCode status, string message, string? form) => TypedResults.Content($"""
        <!doctype html><html><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>Dispatch</title></head>
        <body><h1>Dispatch</h1><p>{message}</p>{form}</body></html>
        """, "text/html; charset=utf-8", statusCode: (int)status);
}
