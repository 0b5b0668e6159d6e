using Dispatch.Grains.Storage;

namespace Dispatch.Grains.Incidents;

public sealed record IncidentSummary(Guid Id, Guid AgencyId, string Priority, string Status, string? IncidentType, string Title,
    DateTimeOffset CreatedAt, int Companies, int CompaniesAcknowledged);

[GenerateSerializer, Immutable]
public sealed record DeliveryView(Guid Id, Guid TransportChannelId, string TransportTypeSlug, int Sequence, string SendStatus, int AttemptCount,
    string? ExternalMessageId, string? LastError, DateTimeOffset? NextAttemptAt, DateTimeOffset? SentAt);

/// <summary>A delivery of a notification as a send's outcome left it (reported by the notification's grain to the incident's).</summary>
[GenerateSerializer, Immutable]
public sealed record DeliveryChange(Guid NotificationId, DeliveryView Delivery);

/// <summary>Who was notified when: the tier and repeat cycle it belongs to, its deadline, and whether that deadline fired or was cancelled.</summary>
[GenerateSerializer, Immutable]
public sealed record NotificationView(Guid Id, Guid NotifiedUserId, string Kind, int Tier, int EscalationCycle, string AckStatus, string? AckSource,
    DateTimeOffset? AckedAt, DateTimeOffset? EscalationDueAt, DateTimeOffset? EscalatedAt, DateTimeOffset? EscalationCancelledAt, DateTimeOffset CreatedAt,
    IReadOnlyList<DeliveryView> Deliveries, Guid? AckedByUserId = null);

/// <summary>A company on the incident: its acknowledgement, its current escalation tier and cycle, and its next deadline (null when none).</summary>
[GenerateSerializer, Immutable]
public sealed record CompanyView(Guid AgencyId, string Name, bool Acknowledged, DateTimeOffset? AckedAt, string? AckSource, Guid? AckedByUserId,
    bool NoRecipients, int CurrentTier, int EscalationCycle, DateTimeOffset? NextDeadline, IReadOnlyList<NotificationView> Notifications,
    DateTimeOffset AssignedAt);

/// <summary>The incident, each company's part in it, and the alerts its own users were sent about companies that did not acknowledge.</summary>
[GenerateSerializer, Immutable]
public sealed record IncidentDetail(IncidentState Incident, IReadOnlyList<CompanyView> Companies, IReadOnlyList<NotificationView> PsapAlerts)
{
    /// <summary>The company's next deadline: the earliest of its live ones.</summary>
    public static DateTimeOffset? NextDeadline(IEnumerable<NotificationView> notifications) =>
        notifications.Where(Live).Select(n => n.EscalationDueAt).Min();

    /// <summary>Waiting for an acknowledgement with its deadline neither fired nor cancelled.</summary>
    public static bool Live(NotificationView n) =>
        n is { AckStatus: "pending", EscalationCancelledAt: null, EscalatedAt: null, EscalationDueAt: not null };
}

public sealed record IncidentFilter(string? Status, string? Priority, Guid? CompanyId, DateTimeOffset? From, DateTimeOffset? To);

/// <summary>What an agency sees of incidents: a PSAP everything under its own, a company its own part of those assigned to it.</summary>
public static class IncidentViews
{
    private const string Where = """
        where (@Status is null or i.status = @Status) and (@Priority is null or i.priority = @Priority)
          and (@CompanyId::uuid is null or exists (select 1 from incident_agencies f where f.incident_id = i.id and f.agent_agency_id = @CompanyId))
          and (@From::timestamptz is null or i.created_at >= @From) and (@To::timestamptz is null or i.created_at < @To)
        """;

    public static async Task<(IReadOnlyList<IncidentSummary> Items, long Total)> ListAsync(AgencyScope scope, IncidentFilter filter, long offset, int limit)
    {
        var items = await scope.QueryAsync<SummaryRow>($"""
            select i.id, i.agency_id, i.priority, i.status, i.incident_type, i.title, i.created_at,
                   (select count(*) from incident_agencies a where a.incident_id = i.id)::int as companies,
                   (select count(*) from incident_agencies a where a.incident_id = i.id and a.acked_at is not null)::int as companies_acknowledged
            from incidents i {Where}
            order by i.created_at desc, i.id offset @offset limit @limit
            """, new { filter.Status, filter.Priority, filter.CompanyId, filter.From, filter.To, offset, limit });
        var total = await scope.ExecuteScalarAsync<long>($"select count(*) from incidents i {Where}",
            new { filter.Status, filter.Priority, filter.CompanyId, filter.From, filter.To });
        return (items.Select(r => new IncidentSummary(r.Id, r.AgencyId, r.Priority, r.Status, r.IncidentType, r.Title, Time.Utc(r.CreatedAt),
            r.Companies, r.CompaniesAcknowledged)).ToList(), total);
    }

    /// <summary>The incident as <paramref name="scope"/> sees it: an agency's part under row-level security, or all of it for the engine.</summary>
    public static async Task<IncidentDetail?> GetAsync(StoreScope scope, Guid id)
    {
        if (await IncidentStore.GetAsync(scope, id) is not { } incident) return null;
        var companies = await scope.QueryAsync<CompanyRow>("""
            select a.agent_agency_id as agency_id, coalesce(g.name, '') as name, a.acked_at, a.ack_source, a.acked_by_user_id, a.no_recipients,
                   a.current_tier, a.escalation_cycle, a.created_at
            from incident_agencies a left join agencies g on g.id = a.agent_agency_id
            where a.incident_id = @id order by a.created_at
            """, new { id });
        var notifications = (await scope.QueryAsync<NotificationRow>("""
            select id, agency_id, notified_user_id, kind, tier, escalation_cycle, ack_status, ack_source, acked_at, acked_by_user_id,
                   escalation_due_at, escalated_at, escalation_cancelled_at, created_at
            from notifications where incident_id = @id order by created_at
            """, new { id })).ToList();
        var deliveries = (await scope.QueryAsync<DeliveryRow>("""
            select id, notification_id, transport_channel_id, transport_type_slug, sequence, send_status, attempt_count, external_message_id,
                   last_error, next_attempt_at, sent_at
            from notification_deliveries where incident_id = @id order by sequence
            """, new { id })).ToLookup(d => d.NotificationId);
        NotificationView View(NotificationRow n) => new(n.Id, n.NotifiedUserId, n.Kind, n.Tier, n.EscalationCycle, n.AckStatus, n.AckSource,
            Time.Utc(n.AckedAt), Time.Utc(n.EscalationDueAt), Time.Utc(n.EscalatedAt), Time.Utc(n.EscalationCancelledAt), Time.Utc(n.CreatedAt),
            deliveries[n.Id].Select(d => new DeliveryView(d.Id, d.TransportChannelId, d.TransportTypeSlug, d.Sequence, d.SendStatus, d.AttemptCount,
                d.ExternalMessageId, d.LastError, Time.Utc(d.NextAttemptAt), Time.Utc(d.SentAt))).ToList(), n.AckedByUserId);
        return new IncidentDetail(incident,
            companies.Select(c =>
            {
                var own = notifications.Where(n => n.AgencyId == c.AgencyId && n.Kind == "company").Select(View).ToList();
                return new CompanyView(c.AgencyId, c.Name, c.AckedAt is not null, Time.Utc(c.AckedAt), c.AckSource, c.AckedByUserId, c.NoRecipients,
                    c.CurrentTier, c.EscalationCycle, IncidentDetail.NextDeadline(own), own, Time.Utc(c.CreatedAt));
            }).ToList(),
            notifications.Where(n => n.Kind == "psap_alert").Select(View).ToList());
    }

    /// <summary>
    /// The Api's check before an assignment reaches the incident's grain, in one read and in parallel with other requests: an
    /// incident the caller does not own is not found, and a company it may not assign is refused without holding the grain.
    /// The grain checks again as it writes (a link may change in between).
    /// </summary>
    public static async Task<Routing.AssignmentCheck> CheckAssignmentAsync(AgencyScope scope, Guid incidentId, IReadOnlyList<Guid> companyIds)
    {
        var row = await scope.QuerySingleOrDefaultAsync<(bool? Owned, Guid? FirstUnassignable)>($"""
            select (select i.agency_id = dispatch_agency_id() from incidents i where i.id = @incidentId) as owned,
                   (select r.id from unnest(@ids) with ordinality as r(id, n)
                    where not exists (select 1 from {Routing.Assignments.AssignableCompanies} where a.id = r.id)
                    order by r.n limit 1) as first_unassignable
            """, new { incidentId, ids = companyIds.ToArray() });
        return new Routing.AssignmentCheck(row.Owned == true, row.FirstUnassignable);
    }

    /// <summary>The incident's own fields as the scope sees them; null when it cannot.</summary>
    public static Task<IncidentState?> StateAsync(AgencyScope scope, Guid id) => IncidentStore.GetAsync(scope, id);

    private sealed record SummaryRow(Guid Id, Guid AgencyId, string Priority, string Status, string? IncidentType, string Title, DateTime CreatedAt,
        int Companies, int CompaniesAcknowledged);

    private sealed record CompanyRow(Guid AgencyId, string Name, DateTime? AckedAt, string? AckSource, Guid? AckedByUserId, bool NoRecipients,
        int CurrentTier, int EscalationCycle, DateTime CreatedAt);

    private sealed record NotificationRow(Guid Id, Guid AgencyId, Guid NotifiedUserId, string Kind, int Tier, int EscalationCycle, string AckStatus,
        string? AckSource, DateTime? AckedAt, Guid? AckedByUserId, DateTime? EscalationDueAt, DateTime? EscalatedAt, DateTime? EscalationCancelledAt,
        DateTime CreatedAt);

    private sealed record DeliveryRow(Guid Id, Guid NotificationId, Guid TransportChannelId, string TransportTypeSlug, int Sequence, string SendStatus,
        int AttemptCount, string? ExternalMessageId, string? LastError, DateTime? NextAttemptAt, DateTime? SentAt);
}

/// <summary>Someone an incident reached: notified on it, or who acknowledged it.</summary>
public sealed record IncidentPerson(Guid UserId, Guid AgencyId, string Name, string Email);

/// <summary>The people an incident reached, as the caller may see them (the PSAP that raised it: everyone; a company: its own).</summary>
public static class IncidentPeople
{
    public static async Task<IReadOnlyList<IncidentPerson>> ListAsync(AgencyScope scope, Guid incidentId) =>
        (await scope.QueryAsync<(Guid UserId, Guid AgencyId, string FirstName, string LastName, string Email)>(
            "select user_id, agency_id, first_name, last_name, email from dispatch_incident_people(@incidentId) order by last_name, first_name",
            new { incidentId }))
        .Select(p => new IncidentPerson(p.UserId, p.AgencyId, $"{p.FirstName} {p.LastName}".Trim() is { Length: > 0 } name ? name : p.Email, p.Email))
        .ToList();
}
