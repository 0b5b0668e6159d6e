using System.Net;

namespace Dispatch.Api.Notifications;

internal static class Acknowledging
{
    /// <summary>Finds the notification's incident (as the caller sees it) and acknowledges through that incident's grain.</summary>
    public static async Task<Acknowledgement?> AcknowledgeNotificationAsync(DispatchStore store, IClusterClient grains, AgencyContext caller,
        Guid notificationId, string source)
    {
        Guid? incidentId;
        await using (var scope = await store.BeginAsync(caller))
            incidentId = await scope.ExecuteScalarAsync<Guid?>("select incident_id from notifications where id = @notificationId", new { notificationId });
        if (incidentId is null) return null;
        return (await grains.GetGrain<IIncidentGrain>(incidentId.Value).AcknowledgeAsync(caller, notificationId, source)).Acknowledgement;
    }

    /// <summary>The small HTML page the signed link shows.</summary>
    public static ContentHttpResult Page(HttpStatusCode status, string message, string? form) => TypedResults.Content($"""
        <!doctype html><html><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>Dispatch</title></head>
        <body><h1>Dispatch</h1><p>{message}</p>{form}</body></html>
        """, "text/html; charset=utf-8", statusCode: (int)status);
}
