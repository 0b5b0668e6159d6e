using Dispatch.Grains.Agencies;
using Dispatch.Grains.Escalation;
using Dispatch.Grains.Notifications;
using Dispatch.Grains.Routing;
using Dispatch.Grains.Storage;

namespace Dispatch.Grains.Incidents;

/// <summary>
/// Raising an incident in three round trips: one read (the agency context, whether the incident exists — a repeated create — and
/// which of the companies the PSAP may assign, at which configuration version), one batch that writes everything (the incident,
/// each company's assignment, notifications and deliveries, the audit rows, and — under each company's own row-level context —
/// the load of what sending its deliveries takes, written already claimed for this silo), and the commit. Routing itself is
/// answered by the companies' agency grains from memory at the version read.
/// </summary>
internal static class IncidentCreation
{
    /// <summary>What the read found: the incident if it already exists, and the companies the PSAP may assign (name, configuration version).</summary>
    internal sealed record Found(IncidentState? Existing, IReadOnlyDictionary<Guid, (string Name, long Version)> Assignable);

    public static Task<Found> ReadAsync(AgencyScope scope, Guid id, IReadOnlyList<Guid> companies) => scope.ReadManyAsync($"""
        {IncidentStore.SelectById};
        select a.id, a.name, dispatch_configuration_version(a.id) as version
        from {Assignments.AssignableCompanies}
        where a.id = any(@companies)
        """, new { Id = id, companies = companies.ToArray() }, async grid =>
    {
        var existing = await IncidentStore.ReadAsync(grid, scope.Cipher);
        var assignable = (await grid.ReadAsync<(Guid Id, string Name, long Version)>()).ToDictionary(c => c.Id, c => (c.Name, c.Version));
        return new Found(existing, assignable);
    });

    /// <summary>
    /// Writes the new incident and its companies (every one of them in <paramref name="assignable"/>); returns the incident and its
    /// companies as written. A company nobody can be reached at, and the CAD call to link, take their own statements after the
    /// batch (rare).
    /// </summary>
    public static async Task<(IncidentState Incident, IReadOnlyList<CompanyView> Companies)> WriteAsync(AgencyScope scope, Guid id, IncidentDraft draft,
        IReadOnlyDictionary<Guid, (string Name, long Version)> assignable, DateTimeOffset now)
    {
        var incident = IncidentStore.New(scope, id, draft.ToNewIncident(), now);
        var statements = new List<BatchStatement>(IncidentStore.CreateStatements(scope, incident));
        var claim = scope.Claimant is { } claimant ? new Assignments.ClaimAtWrite(claimant.Identity, now + claimant.Options.ClaimLease) : null;
        var companies = new List<CompanyView>();
        var unreachable = new List<(Guid Company, EscalationRule? Rule)>();
        var claimed = new List<(Guid Company, Guid[] Deliveries)>();
        foreach (var company in draft.CompanyIds.Distinct())
        {
            var (name, version) = assignable[company];
            var (rule, plan) = await scope.Routing.PlanAtAsync(scope, company, version, RoutingRequest.FirstTier(incident.Priority, incident.IncidentType, now));
            // The first tier's deadline: past it, with nobody's acknowledgement, the escalation loop takes over.
            DateTimeOffset? due = rule is null ? null : now.AddSeconds(rule.AckTimeoutSeconds);
            statements.Add(new("""
                insert into incident_agencies (incident_id, agent_agency_id, no_recipients, created_at, updated_at)
                values (@id, @company, @none, @now, @now)
                """, new { id, company, none = plan.Count == 0, now }));
            var written = Assignments.PlanStatements(scope, plan, new Assignments.PlanTarget(id, company, "company", 0, 0, due), now, draft.TraceParent, claim);
            statements.AddRange(written.Statements);
            var deliveries = written.Notifications.Sum(n => n.Deliveries.Count);
            statements.Add(AuditLog.Statement(scope.Context.AgencyId, scope.Context.UserId, scope.Context.ApiKeyId, scope.Context.CommandConnectionId,
                "incident.company_assigned", "incident", id, null, new { company_id = company, notifications = plan.Count, deliveries }));
            if (plan.Count == 0) unreachable.Add((company, rule));
            if (written.Claimed.Length > 0) claimed.Add((company, written.Claimed));
            companies.Add(Assignments.Assigned(company, name, due, written.Notifications, now));
        }
        // What sending takes is read as each company (a PSAP cannot read its companies' people and channels), then back to the PSAP.
        var loads = new List<int>();
        foreach (var (company, deliveries) in claimed)
        {
            statements.Add(BatchStatement.AgencyContext(company));
            loads.Add(statements.Count);
            statements.Add(DeliveryQueue.LoadStatement(deliveries));
        }
        if (claimed.Count > 0) statements.Add(BatchStatement.AgencyContext(scope.Context.AgencyId));

        var result = await scope.BatchAsync(statements);
        if (claim is not null && claimed.Count > 0)
            await DeliveryQueue.HandAsync(scope, [.. claimed.SelectMany(c => c.Deliveries)], [.. loads.SelectMany(result.RowsOf<DeliveryRow>)], claim.ClaimedBy);

        // Never silently dropped: the company is flagged on the incident (above) and the PSAP is told.
        foreach (var (company, rule) in unreachable) await Assignments.NobodyReachableAsync(scope, incident, company, rule, now);
        return (incident, companies);
    }
}
