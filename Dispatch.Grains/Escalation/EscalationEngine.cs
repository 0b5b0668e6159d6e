using Dispatch.Grains.Agencies;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Routing;
using Dispatch.Grains.Storage;

namespace Dispatch.Grains.Escalation;

/// <summary>What one escalation step did.</summary>
public static class EscalationOutcome
{
    /// <summary>The next tier of the company was notified.</summary>
    public const string NextTier = "next_tier";

    /// <summary>Every tier passed; the policy starts again from the first tier (a repeat).</summary>
    public const string Repeat = "repeat";

    /// <summary>Every tier and every repeat passed: the PSAP was told and nothing further is scheduled.</summary>
    public const string Exhausted = "exhausted";

    /// <summary>The incident was resolved or closed (or the rule is gone): the deadline was dropped.</summary>
    public const string Dropped = "dropped";
}

/// <summary>One fired deadline: which company on which incident, when it was due, when it fired, and what happened.</summary>
public sealed record EscalationStep(Guid IncidentId, Guid CompanyId, string Priority, DateTimeOffset DueAt, DateTimeOffset FiredAt, string Outcome,
    int Tier, int Cycle, int Notified, int PsapAlerts)
{
    public TimeSpan Lateness => FiredAt - DueAt;
}

/// <summary>
/// An incident's escalation steps, in PostgreSQL. A deadline is a pending, uncancelled notification's <c>escalation_due_at</c>.
/// The incident's grain fires them: each due company is locked by its <c>incident_agencies</c> row (FOR UPDATE) — the same row an
/// acknowledgement locks first — and only deadlines still live under that lock are taken, so a deadline fires exactly once even
/// if two activations overlap during a failover, never after the company's acknowledgement committed, and an acknowledgement
/// after a step still stops the next one (it cancels the new tier's deadlines).
/// </summary>
internal static class EscalationEngine
{
    /// <summary>A deadline still to fire: pending, neither cancelled nor fired.</summary>
    internal const string Live = "ack_status = 'pending' and escalation_cancelled_at is null and escalated_at is null";

    private const string LockDue = $"""
        select a.incident_id, a.agent_agency_id as company_id, a.current_tier, a.escalation_cycle, a.acked_at
        from incident_agencies a
        where a.incident_id = @incidentId and exists (
            select 1 from notifications n
            where n.incident_id = a.incident_id and n.agency_id = a.agent_agency_id and {Live} and n.escalation_due_at <= @now)
        order by a.agent_agency_id
        for update of a
        """;

    // Under the company's row lock: take the deadlines that are still live (an acknowledgement may have cancelled them).
    private const string TakeDue = $"""
        update notifications set escalated_at = @now, updated_at = @now
        where incident_id = @IncidentId and agency_id = @CompanyId and {Live} and escalation_due_at <= @now
        returning escalation_due_at
        """;

    /// <summary>Fires every deadline of the incident that is due at <paramref name="now"/>, in this transaction.</summary>
    public static async Task<IReadOnlyList<EscalationStep>> FireIncidentAsync(EngineScope scope, Guid incidentId, DateTimeOffset now)
    {
        var locked = (await scope.QueryAsync<Claim>(LockDue, new { incidentId, now })).ToList();
        var steps = new List<EscalationStep>(locked.Count);
        foreach (var c in locked)
        {
            var due = (await scope.QueryAsync<DateTime>(TakeDue, new { now, c.IncidentId, c.CompanyId })).ToList();
            if (due.Count == 0 || c.AckedAt is not null) continue; // acknowledged meanwhile: nothing fires
            steps.Add(await StepAsync(scope, c, Time.Utc(due.Min()), now));
        }
        return steps;
    }

    /// <summary>When the incident's earliest live deadline falls due; null when none is pending.</summary>
    public static Task<DateTime?> NextDueAsync(EngineScope scope, Guid incidentId) => scope.ExecuteScalarAsync<DateTime?>(
        $"select min(escalation_due_at) from notifications where incident_id = @incidentId and {Live}", new { incidentId });

    private static async Task<EscalationStep> StepAsync(EngineScope scope, Claim c, DateTimeOffset dueAt, DateTimeOffset now)
    {
        scope.Wakes.IncidentChanged(c.IncidentId);
        var incident = (await IncidentStore.GetAsync(scope, c.IncidentId))!;
        var company = await scope.ExecuteScalarAsync<string>("select name from agencies where id = @CompanyId", new { c.CompanyId }) ?? c.CompanyId.ToString();
        var rule = await scope.Routing.RuleAsync(scope, c.CompanyId, incident.Priority);
        if (incident.Status is IncidentStatus.Resolved or IncidentStatus.Closed || rule is null)
        {
            await Log(scope, incident, c.CompanyId, "escalation_dropped",
                rule is null ? $"{company} has no active escalation rule for {incident.Priority} any more; no further escalation."
                             : $"Incident is {incident.Status}; the escalation of {company} stops.",
                new { company_id = c.CompanyId, tier = c.CurrentTier, cycle = c.EscalationCycle, due_at = dueAt });
            return new EscalationStep(c.IncidentId, c.CompanyId, incident.Priority, dueAt, now, EscalationOutcome.Dropped, c.CurrentTier, c.EscalationCycle, 0, 0);
        }

        var tiers = Math.Max(1, rule.EscalationOrder.Count);
        var tier = c.CurrentTier;
        var cycle = c.EscalationCycle;
        var outcome = EscalationOutcome.Exhausted;
        var notified = 0;
        var skipped = new List<int>();
        var exhaustedLogged = false;
        // Move to the next tier that reaches someone; past the last tier the PSAP is told and the policy may repeat.
        for (var tried = 0; tried < tiers; tried++)
        {
            tier++;
            if (tier >= tiers)
            {
                var allTiers = $"{company} has not acknowledged \"{incident.Title}\" ({incident.Priority}) after {tiers} escalation tier(s)";
                if (cycle >= rule.RepeatCount)
                {
                    await Log(scope, incident, c.CompanyId, "escalation_exhausted", $"{allTiers} and {rule.RepeatCount} repeat(s). No further escalation.",
                        new { company_id = c.CompanyId, cycle, repeat_count = rule.RepeatCount });
                    tier = tiers - 1;
                    exhaustedLogged = true;
                    break;
                }
                cycle++;
                tier = 0;
                await Log(scope, incident, c.CompanyId, "escalation_cycle_ended", $"{allTiers}. Starting again from the first tier (repeat {cycle} of {rule.RepeatCount}).",
                    new { company_id = c.CompanyId, cycle, repeat_count = rule.RepeatCount });
            }
            var plan = await Assignments.NotifyAsync(scope,
                new RoutingRequest(incident.Priority, incident.IncidentType, now, rule.EscalationOrder.ElementAtOrDefault(tier), FallbackToEveryone: tier == 0),
                new Assignments.PlanTarget(incident.Id, c.CompanyId, "company", tier, cycle, now.AddSeconds(rule.AckTimeoutSeconds)), now);
            if (plan.Count == 0)
            {
                skipped.Add(tier);
                continue;
            }
            notified = plan.Count;
            outcome = cycle > c.EscalationCycle ? EscalationOutcome.Repeat : EscalationOutcome.NextTier;
            await Log(scope, incident, c.CompanyId, "escalation",
                $"{company} did not acknowledge within {rule.AckTimeoutSeconds}s; escalated to tier {tier + 1} of {tiers} ({plan.Count} recipient(s)).",
                new { company_id = c.CompanyId, tier, cycle, due_at = dueAt, fired_at = now, recipients = plan.Select(p => p.UserId), skipped_tiers = skipped });
            break;
        }
        if (notified == 0 && !exhaustedLogged)
            await Log(scope, incident, c.CompanyId, "escalation_exhausted",
                $"{company} has not acknowledged \"{incident.Title}\" and nobody in its remaining escalation tiers can be reached. No further escalation.",
                new { company_id = c.CompanyId, skipped_tiers = skipped });

        await scope.ExecuteAsync("""
            update incident_agencies set current_tier = @tier, escalation_cycle = @cycle, version = version + 1, updated_at = @now
            where incident_id = @IncidentId and agent_agency_id = @CompanyId
            """, new { tier, cycle, now, c.IncidentId, c.CompanyId });

        // The PSAP users the rule names hear of every step, on their own channels.
        var alerts = await PsapAlerts.SendAsync(scope, incident, c.CompanyId, AlertReason.NotAcknowledged, rule, tier, cycle, now);
        await scope.AuditAsync(incident.AgencyId, "incident.escalated", "incident", incident.Id, null,
            new { company_id = c.CompanyId, outcome, tier, cycle, due_at = dueAt, notified, psap_alerts = alerts });
        return new EscalationStep(c.IncidentId, c.CompanyId, incident.Priority, dueAt, now, outcome, tier, cycle, notified, alerts);
    }

    private static Task Log(EngineScope scope, IncidentState incident, Guid companyId, string type, string content, object snapshot) =>
        Communications.AppendAsync(scope, new CommunicationEntry(incident.Id, companyId, type, "internal", content, snapshot,
            ReceiverType: "agency", ReceiverAgencyId: incident.AgencyId));

    private sealed record Claim(Guid IncidentId, Guid CompanyId, int CurrentTier, int EscalationCycle, DateTime? AckedAt);
}
