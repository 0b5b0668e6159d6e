using Dispatch.Grains.Agencies;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Routing;
using Dispatch.Grains.Storage;

namespace Dispatch.Grains.Escalation;

/// <summary>
/// Messages to the PSAP's own people about a company: the users a company's escalation rule names, reached on the PSAP's channels
/// through their own preferences, as <c>psap_alert</c> notifications the delivery engine sends like any other.
/// </summary>
internal static class PsapAlerts
{
    /// <summary>Alerts the rule's PSAP users about <paramref name="companyId"/>; returns how many were reached (0 without a rule naming anyone).</summary>
    public static async Task<int> SendAsync(StoreScope scope, IncidentState incident, Guid companyId, string reason, EscalationRule? rule,
        int tier, int cycle, DateTimeOffset now)
    {
        if (rule is null || rule.NotifyPsapUserIds.Count == 0) return 0;
        scope.Wakes.IncidentChanged(incident.Id);
        var plan = await Assignments.NotifyAsync(scope,
            new RoutingRequest(incident.Priority, incident.IncidentType, now, new EscalationTier(rule.NotifyPsapUserIds, null)),
            new Assignments.PlanTarget(incident.Id, incident.AgencyId, "psap_alert", tier, cycle, null, (companyId, reason)), now);
        return plan.Count;
    }
}

/// <summary>Why the PSAP is alerted about a company (<c>notifications.alert_reason</c>).</summary>
public static class AlertReason
{
    /// <summary>Nobody at the company has a usable channel: there was no one to notify.</summary>
    public const string NoRecipients = "no_recipients";

    /// <summary>The company let an escalation tier's deadline pass without acknowledging.</summary>
    public const string NotAcknowledged = "not_acknowledged";

    /// <summary>A recipient at the company could not be reached on any of their channels.</summary>
    public const string Unreachable = "unreachable";

    /// <summary>A command connection (a CAD link) was not heard from within its heartbeat interval and grace (a heartbeat alert).</summary>
    public const string HeartbeatLost = "heartbeat_lost";

    /// <summary>A command connection in an outage was heard from again (a heartbeat alert).</summary>
    public const string HeartbeatRecovered = "heartbeat_recovered";
}
