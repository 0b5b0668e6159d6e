using Dispatch.Grains.Incidents;
using Dispatch.Grains.Routing;
using Dispatch.Grains.Storage;

namespace Dispatch.Grains.Notifications;

public static class AckSource
{
    public const string Api = "api";
    public const string IncidentApi = "incident_api";
    public const string EmailLink = "email_link";
}

/// <summary>The acknowledgement as recorded: the first one stands; repeating it reports the first.</summary>
public sealed record Acknowledgement(Guid NotificationId, Guid IncidentId, Guid CompanyId, string AckSource, Guid? AckedByUserId,
    DateTimeOffset AckedAt, bool Repeated, string IncidentStatus);

/// <summary>
/// A company user acknowledges: the notification is acked, every pending escalation of that company on the incident is
/// cancelled, the company is marked acknowledged, and the incident becomes acknowledged once every company has.
/// </summary>
public static class Acknowledgements
{
    public static async Task<Acknowledgement?> AcknowledgeAsync(AgencyScope scope, Guid notificationId, string source, Guid? userId, DateTimeOffset now)
    {
        var n = await scope.QuerySingleOrDefaultAsync<Row>("""
            select id, incident_id, agency_id, notified_user_id, ack_status, ack_source, acked_at, acked_by_user_id
            from notifications where id = @notificationId and agency_id = @agency for update
            """, new { notificationId, agency = scope.Context.AgencyId });
        if (n is null) return null;
        if (n.AckStatus == "acked")
        {
            var status = (await IncidentStore.GetAsync(scope, n.IncidentId))!.Status;
            return new Acknowledgement(n.Id, n.IncidentId, n.AgencyId, n.AckSource!, n.AckedByUserId, Time.Utc(n.AckedAt!.Value), true, status);
        }

        // Acks of one incident take turns, so the last company to acknowledge sees every other's and moves the incident.
        await scope.ExecuteAsync("select 1 from incidents where id = @IncidentId for update", new { n.IncidentId });
        await scope.ExecuteAsync("""
            update notifications set ack_status = 'acked', ack_source = @source, acked_at = @now, acked_by_user_id = @userId,
                   version = version + 1, updated_at = @now
            where id = @notificationId
            """, new { source, now, userId, notificationId });
        await scope.ExecuteAsync("""
            update notifications set escalation_cancelled_at = @now, updated_at = @now
            where incident_id = @IncidentId and agency_id = @AgencyId and ack_status = 'pending' and escalation_cancelled_at is null
            """, new { now, n.IncidentId, n.AgencyId });
        await scope.ExecuteAsync("""
            update incident_agencies set acked_at = @now, acked_by_user_id = @userId, ack_source = @source, version = version + 1, updated_at = @now
            where incident_id = @IncidentId and agent_agency_id = @AgencyId and acked_at is null
            """, new { now, userId, source, n.IncidentId, n.AgencyId });

        var before = (await IncidentStore.GetAsync(scope, n.IncidentId))!;
        var everyone = await scope.ExecuteScalarAsync<bool>(
            "select not exists (select 1 from incident_agencies where incident_id = @IncidentId and acked_at is null)", new { n.IncidentId });
        var incident = everyone && before.Status == IncidentStatus.Open ? await IncidentStore.SaveAsync(scope, before, before.Acknowledge(now)) : before;

        await Communications.AppendAsync(scope, new CommunicationEntry(n.IncidentId, n.AgencyId, "acknowledgement", "inbound",
            $"Acknowledged via {source}", new { notification_id = n.Id, source, user_id = userId }, n.Id,
            SenderType: userId is null ? "system" : "user", ReceiverType: "agency", ReceiverAgencyId: incident.AgencyId));
        await scope.AuditAsync("notification.acknowledged", "notification", n.Id, null, new { source, user_id = userId, incident_id = n.IncidentId });
        return new Acknowledgement(n.Id, n.IncidentId, n.AgencyId, source, userId, now, false, incident.Status);
    }

    private sealed record Row(Guid Id, Guid IncidentId, Guid AgencyId, Guid NotifiedUserId, string AckStatus, string? AckSource, DateTime? AckedAt,
        Guid? AckedByUserId);
}
