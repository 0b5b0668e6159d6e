using System.Net;
using FastEndpoints;

namespace Dispatch.Api.Notifications.AckLink;

// The signed link in a message: GET shows a confirmation page, only its button (POST) acknowledges. Outside the API's document.

public sealed class ConfirmAckLink(DispatchStore store, TimeProvider time) : EndpointWithoutRequest<ContentHttpResult>
{
    public override void Configure()
    {
        Get(AckLinks.Path);
        AllowAnonymous();
        Description(d => d.WithTags("Inbound hooks").ExcludeFromDescription());
    }

    public override async Task<ContentHttpResult> ExecuteAsync(CancellationToken ct)
    {
        var links = TryResolve<AckLinks>(); // none without a public URL to sign links for
        var q = HttpContext.Request.Query;
        if (links?.Verify(q["n"], q["a"], q["u"], q["e"], q["s"], time.GetUtcNow()) is not { } link)
            return Acknowledging.Page(HttpStatusCode.NotFound, "This acknowledgement link is not valid or has expired.", null);
        await using var scope = await store.BeginAsync(new AgencyContext(link.AgencyId, link.UserId));
        var n = await scope.QuerySingleOrDefaultAsync<LinkedNotification>("""
            select n.incident_id, n.kind, a.name as about_name from notifications n left join agencies a on a.id = n.about_agency_id
            where n.id = @id
            """, new { id = link.NotificationId });
        var incident = n is null ? null : await IncidentViews.StateAsync(scope, n.IncidentId);
        if (incident is null) return Acknowledging.Page(HttpStatusCode.NotFound, "This notification no longer exists.", null);
        var fields = string.Concat(links.Fields(link).Select(f =>
            $"""<input type="hidden" name="{f.Key}" value="{WebUtility.HtmlEncode(f.Value)}">"""));
        var title = $"{WebUtility.HtmlEncode(incident.Title)} ({WebUtility.HtmlEncode(incident.Priority)})";
        if (n!.Kind == "psap_alert")
        {
            var company = WebUtility.HtmlEncode(n.AboutName ?? "A company");
            return Acknowledging.Page(HttpStatusCode.OK,
                $"PSAP alert: {company} has not acknowledged {title}. Confirming records that you have seen this alert; it does not acknowledge for {company}.",
                $"""<form method="post" action="{AckLinks.Path}">{fields}<button type="submit">I have seen this alert</button></form>""");
        }
        return Acknowledging.Page(HttpStatusCode.OK, title,
            $"""<form method="post" action="{AckLinks.Path}">{fields}<button type="submit">Acknowledge: my company is responding</button></form>""");
    }
}

public sealed class AcknowledgeFromAckLink(DispatchStore store, IClusterClient grains, TimeProvider time)
    : EndpointWithoutRequest<IResult>
{
    public override void Configure()
    {
        Post(AckLinks.Path);
        AllowAnonymous();
        Description(d => d.WithTags("Inbound hooks").ExcludeFromDescription());
    }

    public override async Task<IResult> ExecuteAsync(CancellationToken ct)
    {
        var links = TryResolve<AckLinks>();
        var request = HttpContext.Request;
        // Only the confirmation page's own form posts here.
        if (!request.HasFormContentType)
            return TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type",
                detail: "Acknowledge through the link's confirmation page: it posts a form (application/x-www-form-urlencoded).");
        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(ct);
        }
        catch (InvalidDataException)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad request", detail: "The form could not be read.");
        }
        if (links?.Verify(form["n"], form["a"], form["u"], form["e"], form["s"], time.GetUtcNow()) is not { } link)
            return Acknowledging.Page(HttpStatusCode.NotFound, "This acknowledgement link is not valid or has expired.", null);
        var ack = await Acknowledging.AcknowledgeNotificationAsync(store, grains, new AgencyContext(link.AgencyId, link.UserId), link.NotificationId,
            AckSource.EmailLink);
        if (ack is null) return Acknowledging.Page(HttpStatusCode.NotFound, "This notification no longer exists.", null);
        AckMetrics.Record(ack);
        if (ack.Kind == "psap_alert")
        {
            var company = WebUtility.HtmlEncode(ack.AboutCompanyName ?? "the company");
            return Acknowledging.Page(HttpStatusCode.OK, ack.Repeated
                ? $"This alert was already marked as seen at {ack.AckedAt:u}."
                : $"Recorded that you have seen the alert about {company}. This does not acknowledge for {company}: reach them directly.", null);
        }
        return Acknowledging.Page(HttpStatusCode.OK, ack.Repeated ? $"Already acknowledged at {ack.AckedAt:u}." : "Acknowledged. Thank you.", null);
    }
}

internal sealed record LinkedNotification(Guid IncidentId, string Kind, string? AboutName);
