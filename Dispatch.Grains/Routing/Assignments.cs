using System.Text.Json;
using Dapper;
using Dispatch.Grains.Agencies;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;

namespace Dispatch.Grains.Routing;

/// <summary>A company assigned: as the incident's grain holds it (its notifications and their deliveries, as written).</summary>
public sealed record AssignmentResult(CompanyView Company, int Deliveries);

/// <summary>A company that is not one the PSAP works with (unknown, not linked, inactive, or not a company).</summary>
public sealed class NotAssignableException(Guid companyId) : Exception(Because(companyId))
{
    public Guid CompanyId { get; } = companyId;

    public static string Because(Guid companyId) => $"Agency {companyId} is not an active company this PSAP works with.";
}

/// <summary>Whether the caller's agency owns the incident, and the first of the companies asked for that it may not assign.</summary>
public sealed record AssignmentCheck(bool Owned, Guid? FirstUnassignable);

/// <summary>
/// Assigns a company to an incident and routes it, inside the PSAP's transaction: the notifications and
/// deliveries exist exactly when the assignment commits, and the committer wakes their grains (<see cref="StoreScope.Wakes"/>).
/// </summary>
internal static class Assignments
{
    /// <summary>
    /// The companies the transaction's PSAP may assign — active companies linked to it — as <c>a</c>, for a query's <c>from</c>:
    /// the one definition the create, an assignment, the Api's check and a CAD mapping's companies share.
    /// </summary>
    internal const string AssignableCompanies = """
        agencies a join agency_links l on l.company_agency_id = a.id and l.psap_agency_id = dispatch_agency_id()
                   and a.agency_type = 'company' and a.is_active
        """;

    /// <summary>Which of <paramref name="companyIds"/> the scope's PSAP may assign now.</summary>
    public static async Task<IReadOnlyList<Guid>> AssignableAsync(AgencyScope scope, IReadOnlyList<Guid> companyIds) => companyIds.Count == 0 ? []
        : (await scope.QueryAsync<Guid>($"select a.id from {AssignableCompanies} where a.id = any(@ids)", new { ids = companyIds.ToArray() })).ToList();

    // The company's name when the PSAP may assign it; nothing when it may not.
    private const string Assignable = $"select a.name from {AssignableCompanies} where a.id = @companyId";

    public static async Task<AssignmentResult?> AssignAsync(AgencyScope scope, IncidentState incident, Guid companyId, DateTimeOffset now,
        string? traceParent)
    {
        if (await scope.ExecuteScalarAsync<string?>(Assignable, new { companyId }) is not { } name) throw new NotAssignableException(companyId);
        var inserted = await scope.ExecuteAsync("""
            insert into incident_agencies (incident_id, agent_agency_id, created_at, updated_at) values (@Id, @companyId, @now, @now)
            on conflict do nothing
            """, new { incident.Id, companyId, now });
        if (inserted == 0) return null; // already assigned

        var (rule, plan) = await scope.Routing.PlanAsync(scope, companyId, RoutingRequest.FirstTier(incident.Priority, incident.IncidentType, now));
        // The first tier's deadline: past it, with nobody's acknowledgement, the escalation loop takes over.
        DateTimeOffset? escalationDueAt = rule is null ? null : now.AddSeconds(rule.AckTimeoutSeconds);
        var notifications = await InsertPlanAsync(scope, plan, new PlanTarget(incident.Id, companyId, "company", 0, 0, escalationDueAt), now, traceParent);
        var deliveries = notifications.Sum(n => n.Deliveries.Count);

        if (plan.Count == 0)
        {
            // Never silently dropped: the company is flagged on the incident and the PSAP is told.
            await scope.ExecuteAsync("update incident_agencies set no_recipients = true where incident_id = @Id and agent_agency_id = @companyId",
                new { incident.Id, companyId });
            await NobodyReachableAsync(scope, incident, companyId, rule, now);
        }
        await scope.AuditAsync("incident.company_assigned", "incident", incident.Id, null,
            new { company_id = companyId, notifications = plan.Count, deliveries });
        return new AssignmentResult(Assigned(companyId, name, escalationDueAt, notifications, now), deliveries);
    }

    /// <summary>A company just assigned, as the incident's grain holds it; its deadline only if someone was notified.</summary>
    internal static CompanyView Assigned(Guid companyId, string name, DateTimeOffset? dueAt, IReadOnlyList<NotificationView> notifications,
        DateTimeOffset now) =>
        new(companyId, name, false, null, null, null, notifications.Count == 0, 0, 0, notifications.Count == 0 ? null : dueAt, notifications, now);

    /// <summary>
    /// Nobody at the company can be reached (it is flagged on the incident by the caller): the PSAP's log says so, and the PSAP users
    /// the company's rule names are told at once, on their own channels — there is nobody to wait for.
    /// </summary>
    internal static async Task NobodyReachableAsync(AgencyScope scope, IncidentState incident, Guid companyId, Escalation.EscalationRule? rule, DateTimeOffset now)
    {
        await Communications.AppendAsync(scope, new CommunicationEntry(incident.Id, scope.Context.AgencyId, "no_recipients", "internal",
            $"No one at company {companyId} can be reached for this incident: no active recipient with a usable channel.",
            new { company_id = companyId }, ReceiverType: "agency", ReceiverAgencyId: scope.Context.AgencyId));
        await Escalation.PsapAlerts.SendAsync(scope, incident, companyId, Escalation.AlertReason.NoRecipients, rule, 0, 0, now);
    }

    /// <summary>Routes the request's users of the target's agency for the incident and writes what reaches them; returns the plan (empty: nobody reachable).</summary>
    internal static async Task<IReadOnlyList<PlannedNotification>> NotifyAsync(StoreScope scope, RoutingRequest request, PlanTarget target,
        DateTimeOffset now)
    {
        var plan = (await scope.Routing.PlanAsync(scope, target.AgencyId, request)).Notifications;
        await InsertPlanAsync(scope, plan, target, now, null);
        return plan;
    }

    /// <summary>Whom a plan's notifications are for: the agency, their kind, escalation tier and cycle, and the deadline they carry.</summary>
    /// <param name="IncidentId">The incident they are about; none for a heartbeat alert, which is about <paramref name="Heartbeat"/>.</param>
    /// <param name="About">For a PSAP alert: the company it is about, and why (<see cref="Escalation.AlertReason"/>).</param>
    /// <param name="Heartbeat">For a heartbeat alert: the command connection it is about, and why (<see cref="Escalation.AlertReason"/>).</param>
    internal sealed record PlanTarget(Guid? IncidentId, Guid AgencyId, string Kind, int Tier, int Cycle, DateTimeOffset? DueAt,
        (Guid CompanyId, string Reason)? About = null, (Guid ConnectionId, string Reason)? Heartbeat = null);

    /// <summary>Writes a plan's notifications and deliveries (queued now, or waiting as failover links), in one batch; returns them as written.</summary>
    internal static async Task<IReadOnlyList<NotificationView>> InsertPlanAsync(StoreScope scope, IReadOnlyList<PlannedNotification> plan, PlanTarget target,
        DateTimeOffset now, string? traceParent)
    {
        var written = PlanStatements(scope, plan, target, now, traceParent, claim: null);
        if (written.Statements.Count > 0) await scope.BatchAsync(written.Statements);
        return written.Notifications;
    }

    /// <summary>A plan's rows as statements for a batch, the notifications as written, and the deliveries written already claimed.</summary>
    internal sealed record WrittenPlan(IReadOnlyList<BatchStatement> Statements, IReadOnlyList<NotificationView> Notifications, Guid[] Claimed);

    /// <summary>Who claims the deliveries a transaction queues as it writes them: the silo, until the lease runs out.</summary>
    internal sealed record ClaimAtWrite(string ClaimedBy, DateTimeOffset Until);

    /// <summary>
    /// The statements that write a plan. With <paramref name="claim"/>, deliveries to send now are written already claimed for
    /// the silo (in flight, first attempt) — the transaction hands them to their grains itself; without, they are queued and the
    /// commit claims them (<see cref="GrainWakes"/>).
    /// </summary>
    internal static WrittenPlan PlanStatements(StoreScope scope, IReadOnlyList<PlannedNotification> plan, PlanTarget target, DateTimeOffset now,
        string? traceParent, ClaimAtWrite? claim)
    {
        var statements = new List<BatchStatement>();
        var written = new List<NotificationView>(plan.Count);
        var claimed = new List<Guid>();
        foreach (var notification in plan)
        {
            var notificationId = Guid.CreateVersion7();
            var deliveries = new List<DeliveryView>(notification.Deliveries.Count);
            statements.Add(new("""
                insert into notifications (id, incident_id, agency_id, notified_user_id, kind, tier, escalation_cycle, escalation_due_at,
                    about_agency_id, alert_reason, command_connection_id, created_at, updated_at)
                values (@notificationId, @IncidentId, @AgencyId, @UserId, @Kind, @Tier, @Cycle, @DueAt, @aboutId, @reason, @connectionId, @now, @now)
                """, new
            {
                notificationId, target.IncidentId, target.AgencyId, notification.UserId, target.Kind, target.Tier, target.Cycle, target.DueAt,
                aboutId = target.About?.CompanyId, reason = target.About?.Reason ?? target.Heartbeat?.Reason, connectionId = target.Heartbeat?.ConnectionId, now,
            }));
            if (claim is null && notification.Deliveries.Any(d => d.Queued)) scope.Wakes.Notification(notificationId);
            if (target is { DueAt: { } due, IncidentId: { } incident }) scope.Wakes.Deadline(incident, due);
            foreach (var d in notification.Deliveries)
            {
                var id = Guid.CreateVersion7();
                var inFlight = claim is not null && d.Queued;
                var status = inFlight ? "sending" : d.Queued ? "queued" : "waiting";
                statements.Add(new("""
                    insert into notification_deliveries (id, notification_id, incident_id, agency_id, transport_channel_id, transport_type_slug,
                        preference_id, sequence, send_status, attempt_count, next_attempt_at, claimed_until, claimed_by, trace_parent, created_at, updated_at)
                    values (@id, @notificationId, @IncidentId, @AgencyId, @ChannelId, @TransportSlug, @PreferenceId, @Sequence,
                        @status, @attempts, @next, @claimedUntil, @claimedBy, @traceParent, @now, @now)
                    """, new
                {
                    id, notificationId, target.IncidentId, target.AgencyId, d.ChannelId, d.TransportSlug, d.PreferenceId, d.Sequence, status,
                    attempts = inFlight ? 1 : 0, next = d.Queued ? now : (DateTimeOffset?)null,
                    claimedUntil = inFlight ? claim!.Until : (DateTimeOffset?)null, claimedBy = inFlight ? claim!.ClaimedBy : null, traceParent, now,
                }));
                if (inFlight) claimed.Add(id);
                deliveries.Add(new DeliveryView(id, d.ChannelId, d.TransportSlug, d.Sequence, status, inFlight ? 1 : 0, null, null, d.Queued ? now : null, null));
            }
            written.Add(new NotificationView(notificationId, notification.UserId, target.Kind, target.Tier, target.Cycle, "pending", null, null,
                target.DueAt, null, null, now, deliveries));
        }
        return new WrittenPlan(statements, written, [.. claimed]);
    }
}
