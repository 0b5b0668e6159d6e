using System.Text.Json;
using Dapper;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;

namespace Dispatch.Grains.Routing;

public sealed record AssignmentResult(Guid CompanyId, int Notifications, int Deliveries, bool NoRecipients);

/// <summary>A company that is not one the PSAP works with (unknown, not linked, inactive, or not a company).</summary>
public sealed class NotAssignableException(Guid companyId) : Exception($"Agency {companyId} is not an active company this PSAP works with.")
{
    public Guid CompanyId { get; } = companyId;
}

/// <summary>
/// Assigns a company to an incident and routes it, inside the PSAP's transaction: the notifications and
/// deliveries exist exactly when the assignment commits, and the committer wakes their grains (<see cref="StoreScope.Wakes"/>).
/// </summary>
public static class Assignments
{
    private const string Assignable = """
        select exists (
            select 1 from agencies a join agency_links l on l.company_agency_id = a.id and l.psap_agency_id = dispatch_agency_id()
            where a.id = @companyId and a.agency_type = 'company' and a.is_active)
        """;

    private const string SelectZone = "select timezone from agencies where id = @companyId";
    private const string SelectChannels = """
        select c.id, t.slug as transport_slug from transport_channels c join transport_types t on t.id = c.transport_type_id
        where c.agency_id = @companyId and c.is_active
        """;
    private const string SelectRules = """
        select transport_channel_id as channel_id, priority_filter, type_filter, time_start, time_end
        from notification_rules where agency_id = @companyId and is_active
        """;
    // Who receives: the company's active users whose role may acknowledge.
    private const string SelectRecipients = """
        select u.id from users u join roles r on r.id = u.role_id
        where u.agency_id = @companyId and u.is_active and r.permissions ? 'incidents.ack'
        order by u.email
        """;
    private const string SelectPreferences = """
        select p.id, p.user_id, p.transport_channel_id as channel_id, p.priority_order, p.delivery_mode
        from user_transport_preferences p join users u on u.id = p.user_id where u.agency_id = @companyId
        """;

    public static async Task<AssignmentResult?> AssignAsync(AgencyScope scope, IncidentState incident, Guid companyId, DateTimeOffset now,
        string? traceParent)
    {
        if (!await scope.ExecuteScalarAsync<bool>(Assignable, new { companyId })) throw new NotAssignableException(companyId);
        var inserted = await scope.ExecuteAsync("""
            insert into incident_agencies (incident_id, agent_agency_id, created_at, updated_at) values (@Id, @companyId, @now, @now)
            on conflict do nothing
            """, new { incident.Id, companyId, now });
        if (inserted == 0) return null; // already assigned

        var (routing, rule) = await scope.ReadAsAgencyAsync(companyId, async () =>
        {
            var rule = await Escalation.EscalationRules.ForPriorityAsync(scope, companyId, incident.Priority);
            var recipients = await TierUsersAsync(scope, companyId, rule?.EscalationOrder.FirstOrDefault(), fallbackToEveryone: true);
            return (await RoutingAsync(scope, companyId, recipients), rule);
        });
        // The first tier's deadline: past it, with nobody's acknowledgement, the escalation loop takes over.
        DateTimeOffset? escalationDueAt = rule is null ? null : now.AddSeconds(rule.AckTimeoutSeconds);
        var plan = Router.Plan(routing, incident.Priority, incident.IncidentType, now);
        var deliveries = await InsertPlanAsync(scope, plan, new PlanTarget(incident.Id, companyId, "company", 0, 0, escalationDueAt), now, traceParent);

        if (plan.Count == 0)
        {
            // Never silently dropped: the company is flagged on the incident and the PSAP is told.
            await scope.ExecuteAsync("update incident_agencies set no_recipients = true where incident_id = @Id and agent_agency_id = @companyId",
                new { incident.Id, companyId });
            await Communications.AppendAsync(scope, new CommunicationEntry(incident.Id, scope.Context.AgencyId, "no_recipients", "internal",
                $"No one at company {companyId} can be reached for this incident: no active recipient with a usable channel.",
                new { company_id = companyId }, ReceiverType: "agency", ReceiverAgencyId: scope.Context.AgencyId));
            // And the PSAP users the company's rule names are told at once, on their own channels: there is nobody to wait for.
            await Escalation.PsapAlerts.SendAsync(scope, incident, rule, 0, 0, now);
        }
        await scope.AuditAsync("incident.company_assigned", "incident", incident.Id, null,
            new { company_id = companyId, notifications = plan.Count, deliveries });
        return new AssignmentResult(companyId, plan.Count, deliveries, plan.Count == 0);
    }

    private const string SelectTier = """
        select u.id from users u join roles r on r.id = u.role_id
        where u.agency_id = @companyId and u.is_active and (u.id = any(@userIds) or r.slug = any(@roleSlugs))
        order by u.email
        """;

    /// <summary>
    /// The active users of an escalation tier (named users and holders of its roles); for the first tier, everyone who may
    /// acknowledge when the company has no rule or the tier names nobody active.
    /// </summary>
    internal static async Task<IReadOnlyList<Guid>> TierUsersAsync(StoreScope scope, Guid companyId, Escalation.EscalationTier? tier, bool fallbackToEveryone)
    {
        var users = tier is null ? [] : (await scope.QueryAsync<Guid>(SelectTier,
            new { companyId, userIds = (tier.UserIds ?? []).ToArray(), roleSlugs = (tier.RoleSlugs ?? []).ToArray() })).ToList();
        if (users.Count == 0 && fallbackToEveryone) users = (await scope.QueryAsync<Guid>(SelectRecipients, new { companyId })).ToList();
        return users;
    }

    /// <summary>What routing needs of an agency to reach <paramref name="recipients"/>: its zone, channels, rules and their preferences.</summary>
    internal static async Task<CompanyRouting> RoutingAsync(StoreScope scope, Guid companyId, IReadOnlyList<Guid> recipients)
    {
        var zoneId = await scope.ExecuteScalarAsync<string>(SelectZone, new { companyId });
        var zone = TimeZoneInfo.TryFindSystemTimeZoneById(zoneId ?? "UTC", out var z) ? z : TimeZoneInfo.Utc;
        var channels = (await scope.QueryAsync<RoutingChannel>(SelectChannels, new { companyId })).ToList();
        var rules = (await scope.QueryAsync<RuleRow>(SelectRules, new { companyId }))
            .Select(r => new RoutingRule(r.ChannelId, r.PriorityFilter, r.TypeFilter, r.TimeStart, r.TimeEnd)).ToList();
        var preferences = (await scope.QueryAsync<PreferenceRow>(SelectPreferences, new { companyId })).ToLookup(p => p.UserId);
        return new CompanyRouting(zone, channels, rules, recipients
            .Select(u => new RoutingRecipient(u, preferences[u].Select(p => new RoutingPreference(p.Id, p.ChannelId, p.PriorityOrder, p.DeliveryMode)).ToList()))
            .ToList());
    }

    /// <summary>Routes <paramref name="users"/> of the target's agency for the incident and writes what reaches them; returns the plan (empty: nobody reachable).</summary>
    internal static async Task<IReadOnlyList<PlannedNotification>> NotifyAsync(StoreScope scope, IncidentState incident, IReadOnlyList<Guid> users,
        PlanTarget target, DateTimeOffset now)
    {
        var plan = Router.Plan(await RoutingAsync(scope, target.AgencyId, users), incident.Priority, incident.IncidentType, now);
        await InsertPlanAsync(scope, plan, target, now, null);
        return plan;
    }

    /// <summary>Whom a plan's notifications are for: the agency, their kind, escalation tier and cycle, and the deadline they carry.</summary>
    internal sealed record PlanTarget(Guid IncidentId, Guid AgencyId, string Kind, int Tier, int Cycle, DateTimeOffset? DueAt);

    /// <summary>Writes a plan's notifications and deliveries (queued now, or waiting as failover links); returns the delivery count.</summary>
    internal static async Task<int> InsertPlanAsync(StoreScope scope, IReadOnlyList<PlannedNotification> plan, PlanTarget target, DateTimeOffset now,
        string? traceParent)
    {
        var deliveries = 0;
        foreach (var notification in plan)
        {
            var notificationId = Guid.CreateVersion7();
            await scope.ExecuteAsync("""
                insert into notifications (id, incident_id, agency_id, notified_user_id, kind, tier, escalation_cycle, escalation_due_at, created_at, updated_at)
                values (@notificationId, @IncidentId, @AgencyId, @UserId, @Kind, @Tier, @Cycle, @DueAt, @now, @now)
                """, new { notificationId, target.IncidentId, target.AgencyId, notification.UserId, target.Kind, target.Tier, target.Cycle, target.DueAt, now });
            if (notification.Deliveries.Any(d => d.Queued)) scope.Wakes.Notification(notificationId);
            if (target.DueAt is { } due) scope.Wakes.Deadline(target.IncidentId, due);
            foreach (var d in notification.Deliveries)
            {
                await scope.ExecuteAsync("""
                    insert into notification_deliveries (id, notification_id, incident_id, agency_id, transport_channel_id, transport_type_slug,
                        preference_id, sequence, send_status, next_attempt_at, trace_parent, created_at, updated_at)
                    values (@id, @notificationId, @IncidentId, @AgencyId, @ChannelId, @TransportSlug, @PreferenceId, @Sequence,
                        @status, @next, @traceParent, @now, @now)
                    """, new
                {
                    id = Guid.CreateVersion7(), notificationId, target.IncidentId, target.AgencyId, d.ChannelId, d.TransportSlug, d.PreferenceId,
                    d.Sequence, status = d.Queued ? "queued" : "waiting", next = d.Queued ? now : (DateTimeOffset?)null, traceParent, now,
                });
                deliveries++;
            }
        }
        return deliveries;
    }

    // Settable properties: Dapper hands text[] over as Array, which only property assignment converts.
    private sealed class RuleRow
    {
        public Guid ChannelId { get; set; }
        public string[]? PriorityFilter { get; set; }
        public string[]? TypeFilter { get; set; }
        public TimeOnly? TimeStart { get; set; }
        public TimeOnly? TimeEnd { get; set; }
    }

    private sealed record PreferenceRow(Guid Id, Guid UserId, Guid ChannelId, int PriorityOrder, string DeliveryMode);
}

/// <summary>An entry for the append-only communication log; content is encrypted, the snapshot must hold no credentials.</summary>
public sealed record CommunicationEntry(
    Guid IncidentId, Guid AgencyId, string Type, string Direction, string? Content, object? Snapshot,
    Guid? NotificationId = null, Guid? DeliveryId = null, string? TransportSlug = null, string SenderType = "system",
    string? ReceiverType = null, Guid? ReceiverAgencyId = null, Guid? ReceiverUserId = null);

public static class Communications
{
    public static Task AppendAsync(StoreScope scope, CommunicationEntry e) => scope.ExecuteAsync("""
        insert into incident_communications (incident_id, notification_id, delivery_id, agency_id, communication_type, direction,
            transport_type_slug, content, payload_snapshot, sender_type, receiver_type, receiver_agency_id, receiver_user_id)
        values (@IncidentId, @NotificationId, @DeliveryId, @AgencyId, @Type, @Direction, @TransportSlug, @Content,
            @Snapshot::jsonb, @SenderType, @ReceiverType, @ReceiverAgencyId, @ReceiverUserId)
        """, new
    {
        e.IncidentId, e.NotificationId, e.DeliveryId, e.AgencyId, e.Type, e.Direction, e.TransportSlug,
        Content = scope.Cipher.EncryptText(e.Content, EncryptedColumns.CommunicationContent.Context),
        Snapshot = AuditLog.Snapshot(e.Snapshot ?? new { }), e.SenderType, e.ReceiverType, e.ReceiverAgencyId, e.ReceiverUserId,
    });
}
