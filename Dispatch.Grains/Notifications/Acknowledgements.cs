using Dispatch.Grains.Incidents;
using Dispatch.Grains.Storage;

namespace Dispatch.Grains.Notifications;

public static class AckSource
{
    public const string Api = "api";
    public const string IncidentApi = "incident_api";
    public const string EmailLink = "email_link";
    public const string SmsReply = "sms_reply";
    public const string Voice = "voice";
    public const string Telegram = "telegram";
}

/// <summary>
/// The acknowledgement as recorded: the first one of the company stands; repeating it (or another of the company's users
/// acknowledging later) reports the first. <see cref="TimeToAck"/> is measured from the company's assignment, for a first one only.
/// For a PSAP alert (<see cref="Kind"/> <c>psap_alert</c>) it records that a PSAP user saw the alert about
/// <see cref="AboutCompanyName"/>: that company's own acknowledgement is untouched.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record Acknowledgement(Guid? NotificationId, Guid IncidentId, Guid CompanyId, string AckSource, Guid? AckedByUserId,
    DateTimeOffset AckedAt, bool Repeated, string IncidentStatus, string Priority, TimeSpan? TimeToAck,
    string Kind = "company", Guid? AboutCompanyId = null, string? AboutCompanyName = null);

/// <summary>
/// A company user acknowledges: the notification is acked, every pending escalation of that company on the incident is
/// cancelled, the company is marked acknowledged (which records a command-system ack event, see migration 0007), and the
/// incident becomes acknowledged once every company has.
/// </summary>
/// <remarks>
/// Lock order, shared with the escalation loop: the company's <c>incident_agencies</c> row first, then notifications and the
/// incident. Whichever of an acknowledgement and an escalation takes that row first wins; the other sees its outcome.
/// </remarks>
internal static class Acknowledgements
{
    /// <summary>Acknowledges one notification of the scope's company; null when the scope cannot see it.</summary>
    public static async Task<Acknowledgement?> AcknowledgeAsync(AgencyScope scope, Guid notificationId, string source, Guid? userId, DateTimeOffset now)
    {
        var n = await scope.QuerySingleOrDefaultAsync<NotificationRow>(
            "select id, incident_id, kind from notifications where id = @notificationId and agency_id = @agency and incident_id is not null",
            new { notificationId, agency = scope.Context.AgencyId });
        if (n is null) return null;
        if (n.Kind == "psap_alert") return await AcknowledgeAlertAsync(scope, n.Id, source, userId, now);
        return await AcknowledgeCompanyAsync(scope, n.IncidentId, n.Id, source, userId, now);
    }

    /// <summary>
    /// A company user acknowledges the incident for their company (<c>POST incidents/{id}/ack</c>): their own pending
    /// notification is acked with it, if they have one. Null when the company is not assigned to the incident.
    /// </summary>
    public static async Task<Acknowledgement?> AcknowledgeIncidentAsync(AgencyScope scope, Guid incidentId, string source, Guid? userId, DateTimeOffset now)
    {
        var own = userId is null ? null : await scope.ExecuteScalarAsync<Guid?>("""
            select id from notifications
            where incident_id = @incidentId and agency_id = @agency and notified_user_id = @userId and kind = 'company'
            order by ack_status = 'pending' desc, created_at desc limit 1
            """, new { incidentId, agency = scope.Context.AgencyId, userId });
        return await AcknowledgeCompanyAsync(scope, incidentId, own, source, userId, now);
    }

    private static async Task<Acknowledgement?> AcknowledgeCompanyAsync(AgencyScope scope, Guid incidentId, Guid? notificationId, string source,
        Guid? userId, DateTimeOffset now)
    {
        var company = scope.Context.AgencyId;
        var assignment = await scope.QuerySingleOrDefaultAsync<AssignmentRow>("""
            select acked_at, acked_by_user_id, ack_source, created_at from incident_agencies
            where incident_id = @incidentId and agent_agency_id = @company for update
            """, new { incidentId, company });
        if (assignment is null) return null;

        NotificationRow? n = null;
        if (notificationId is { } id)
        {
            n = await scope.QuerySingleOrDefaultAsync<NotificationRow>(
                "select id, incident_id, kind, ack_status, ack_source, acked_at, acked_by_user_id from notifications where id = @id for update", new { id });
            if (n!.AckStatus == "acked")
                return await RepeatedAsync(scope, incidentId, company, n.Id, n.AckSource!, n.AckedByUserId, Time.Utc(n.AckedAt!.Value));
            await scope.ExecuteAsync("""
                update notifications set ack_status = 'acked', ack_source = @source, acked_at = @now, acked_by_user_id = @userId,
                       version = version + 1, updated_at = @now
                where id = @id
                """, new { source, now, userId, id });
        }
        if (assignment.AckedAt is { } first)
            return await RepeatedAsync(scope, incidentId, company, n?.Id, assignment.AckSource!, assignment.AckedByUserId, Time.Utc(first));

        await scope.ExecuteAsync("""
            update notifications set escalation_cancelled_at = @now, updated_at = @now
            where incident_id = @incidentId and agency_id = @company and ack_status = 'pending' and escalation_cancelled_at is null
            """, new { now, incidentId, company });
        // Acks of one incident take turns here, so the last company to acknowledge sees every other's and moves the incident.
        await scope.ExecuteAsync("select 1 from incidents where id = @incidentId for no key update", new { incidentId });
        await scope.ExecuteAsync("""
            update incident_agencies set acked_at = @now, acked_by_user_id = @userId, ack_source = @source, version = version + 1, updated_at = @now
            where incident_id = @incidentId and agent_agency_id = @company
            """, new { now, userId, source, incidentId, company });
        // The trigger queued a callback for each of the PSAP's callback-mode command systems: their grains send them after the commit.
        var connections = await scope.ExecuteScalarAsync<string?>("select current_setting('dispatch.callback_connections', true)");
        foreach (var connection in (connections ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
            scope.Wakes.CommandConnection(Guid.Parse(connection));

        var before = (await IncidentStore.GetAsync(scope, incidentId))!;
        var everyone = await scope.ExecuteScalarAsync<bool>(
            "select not exists (select 1 from incident_agencies where incident_id = @incidentId and acked_at is null)", new { incidentId });
        var incident = everyone && before.Status == IncidentStatus.Open ? await IncidentStore.SaveAsync(scope, before, before.Acknowledge(now)) : before;

        await Communications.AppendAsync(scope, new CommunicationEntry(incidentId, company, "acknowledgement", "inbound",
            $"Acknowledged via {source}", new { notification_id = n?.Id, source, user_id = userId }, n?.Id,
            SenderType: userId is null ? "system" : "user", ReceiverType: "agency", ReceiverAgencyId: incident.AgencyId));
        await scope.AuditAsync("incident.acknowledged", "incident", incidentId, null,
            new { company_id = company, notification_id = n?.Id, source, user_id = userId });
        return new Acknowledgement(n?.Id, incidentId, company, source, userId, now, false, incident.Status, incident.Priority,
            now - Time.Utc(assignment.CreatedAt));
    }

    /// <summary>
    /// A company's first acknowledgement, decided by the incident's grain from the incident it holds: the company has not
    /// acknowledged yet and <paramref name="notificationId"/>, when given, is the company's and pending. Written in one batch (one
    /// round trip, the agency context included); the grain's decision is checked by the rows as they are written — the company's
    /// assignment must still be unacknowledged (else the copy was stale: <see cref="ConcurrencyConflictException"/>, nothing
    /// written), and the incident becomes acknowledged only if, under its row lock, no company is left (acks take turns there, as
    /// on the escalation loop's lock order).
    /// </summary>
    public static async Task<Acknowledgement> AcknowledgeFirstAsync(AgencyScope scope, IncidentState incident, Guid? notificationId,
        DateTimeOffset assignedAt, string source, Guid? userId, DateTimeOffset now)
    {
        var company = scope.Context.AgencyId;
        var acknowledged = incident.Acknowledge(now);
        var statements = new List<BatchStatement>
        {
            new("select 1 as incident_locked from incidents where id = @Id for no key update", new { incident.Id }),
            new("""
                update incident_agencies set acked_at = @now, acked_by_user_id = @userId, ack_source = @source, version = version + 1, updated_at = @now
                where incident_id = @Id and agent_agency_id = @company and acked_at is null
                """, new { now, userId, source, incident.Id, company }),
        };
        if (notificationId is { } id)
            statements.Add(new("""
                update notifications set ack_status = 'acked', ack_source = @source, acked_at = @now, acked_by_user_id = @userId,
                       version = version + 1, updated_at = @now
                where id = @id and agency_id = @company and ack_status = 'pending'
                """, new { source, now, userId, id, company }));
        statements.Add(new("""
            update notifications set escalation_cancelled_at = @now, updated_at = @now
            where incident_id = @Id and agency_id = @company and ack_status = 'pending' and escalation_cancelled_at is null
            """, new { now, incident.Id, company }));
        // The last company to acknowledge moves the incident (and audits the change) — decided by the rows, not by the copy.
        var audit = AuditLog.Statement(company, scope.Context.UserId, scope.Context.ApiKeyId, scope.Context.CommandConnectionId,
            "incident.updated", "incident", incident.Id, incident, acknowledged with { Version = incident.Version + 1 });
        statements.Add(audit.Over("""
            with moved as (
                update incidents set status = 'acknowledged', acknowledged_at = @now, version = version + 1, updated_at = now()
                where id = @IncidentId and status = 'open'
                  and not exists (select 1 from incident_agencies where incident_id = @IncidentId and acked_at is null)
                returning 1)
            insert into audit_logs (agency_id, user_id, api_key_id, command_connection_id, action, entity_type, entity_id, before, after)
            select @AgencyId, @UserId, @ApiKeyId, @CommandConnectionId, @Action, @EntityType, @EntityId, @Before::jsonb, @After::jsonb from moved
            """, new { now, IncidentId = incident.Id }));
        var moveIndex = statements.Count - 1;
        statements.Add(Communications.Statement(scope.Cipher, new CommunicationEntry(incident.Id, company, "acknowledgement", "inbound",
            $"Acknowledged via {source}", new { notification_id = notificationId, source, user_id = userId }, notificationId,
            SenderType: userId is null ? "system" : "user", ReceiverType: "agency", ReceiverAgencyId: incident.AgencyId)));
        statements.Add(AuditLog.Statement(company, scope.Context.UserId, scope.Context.ApiKeyId, scope.Context.CommandConnectionId,
            "incident.acknowledged", "incident", incident.Id, null, new { company_id = company, notification_id = notificationId, source, user_id = userId }));
        // The trigger on incident_agencies queued a callback for each of the PSAP's callback-mode command systems.
        statements.Add(new("select current_setting('dispatch.callback_connections', true) as callback_connections"));

        var result = await scope.BatchAsync(statements);
        if (result.Affected[1] == 0) throw new ConcurrencyConflictException("incident_agencies", incident.Id, incident.Version);
        foreach (var connection in (result.Value<string>("callback_connections") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
            scope.Wakes.CommandConnection(Guid.Parse(connection));
        var status = result.Affected[moveIndex] == 1 ? IncidentStatus.Acknowledged : incident.Status;
        return new Acknowledgement(notificationId, incident.Id, company, source, userId, now, false, status, incident.Priority, now - assignedAt);
    }

    private static async Task<Acknowledgement> RepeatedAsync(AgencyScope scope, Guid incidentId, Guid company, Guid? notificationId, string source,
        Guid? userId, DateTimeOffset at)
    {
        var incident = (await IncidentStore.GetAsync(scope, incidentId))!;
        return new Acknowledgement(notificationId, incidentId, company, source, userId, at, true, incident.Status, incident.Priority, null);
    }

    /// <summary>
    /// A PSAP user confirms they have seen an alert about a company: the alert is marked seen and the log says so; the company's
    /// acknowledgement, its escalation and the incident are untouched.
    /// </summary>
    private static async Task<Acknowledgement> AcknowledgeAlertAsync(AgencyScope scope, Guid id, string source, Guid? userId, DateTimeOffset now)
    {
        var updated = await scope.ExecuteAsync("""
            update notifications set ack_status = 'acked', ack_source = @source, acked_at = @now, acked_by_user_id = @userId,
                   version = version + 1, updated_at = @now
            where id = @id and ack_status = 'pending'
            """, new { source, now, userId, id });
        var n = (await scope.QuerySingleOrDefaultAsync<NotificationRow>("""
            select n.id, n.incident_id, n.kind, n.ack_status, n.ack_source, n.acked_at, n.acked_by_user_id, n.about_agency_id, a.name as about_name
            from notifications n left join agencies a on a.id = n.about_agency_id where n.id = @id
            """, new { id }))!;
        var incident = (await IncidentStore.GetAsync(scope, n.IncidentId))!;
        if (updated == 1)
            await Communications.AppendAsync(scope, new CommunicationEntry(n.IncidentId, scope.Context.AgencyId, "psap_alert_seen", "inbound",
                $"A PSAP user saw the alert about {n.AboutName ?? "a company"} (via {source}); this does not acknowledge for that company.",
                new { notification_id = id, company_id = n.AboutAgencyId, source, user_id = userId }, id,
                SenderType: userId is null ? "system" : "user", ReceiverType: "agency", ReceiverAgencyId: incident.AgencyId));
        return new Acknowledgement(id, n.IncidentId, scope.Context.AgencyId, n.AckSource!, n.AckedByUserId, Time.Utc(n.AckedAt!.Value),
            updated == 0, incident.Status, incident.Priority, null, "psap_alert", n.AboutAgencyId, n.AboutName);
    }

    private sealed record AssignmentRow(DateTime? AckedAt, Guid? AckedByUserId, string? AckSource, DateTime CreatedAt);

    private sealed class NotificationRow
    {
        public Guid Id { get; set; }
        public Guid IncidentId { get; set; }
        public string Kind { get; set; } = "";
        public string? AckStatus { get; set; }
        public string? AckSource { get; set; }
        public DateTime? AckedAt { get; set; }
        public Guid? AckedByUserId { get; set; }
        public Guid? AboutAgencyId { get; set; }
        public string? AboutName { get; set; }
    }
}
