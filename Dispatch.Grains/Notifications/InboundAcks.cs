using Dispatch.Grains.Incidents;
using Dispatch.Grains.Storage;
using Microsoft.Extensions.Logging;

namespace Dispatch.Grains.Notifications;

/// <summary>
/// An acknowledgement that came in on a channel — a text's reply code, a key pressed on a call, a Telegram button — for the
/// person it was sent to: through the incident's grain, as that person, counted and logged like any other.
/// </summary>
internal static class InboundAcks
{
    /// <summary>The acknowledgement as recorded (a repeat reports the first), or null when the notification can no longer be acknowledged.</summary>
    public static async Task<Acknowledgement?> AcknowledgeAsync(IGrainFactory grains, Guid incidentId, Guid agencyId, Guid notifiedUserId,
        Guid notificationId, string source, ILogger logger)
    {
        var result = await grains.GetGrain<IIncidentGrain>(incidentId)
            .AcknowledgeAsync(new AgencyContext(agencyId, notifiedUserId), notificationId, source);
        if (result.Acknowledgement is not { } ack) return null;
        AckMetrics.Record(ack);
        logger.LogInformation("Notification {NotificationId} acknowledged through {Source}{Repeated}", ack.NotificationId, source, ack.Repeated ? " (again)" : "");
        return ack;
    }
}
