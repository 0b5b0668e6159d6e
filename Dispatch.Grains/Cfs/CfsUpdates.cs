using Dispatch.Grains.Incidents;
using Dispatch.Grains.Storage;

namespace Dispatch.Grains.Cfs;

/// <summary>
/// A linked call's new address or priority, applied by the incident's grain from its inbox (<see cref="CfsChanges"/> left it
/// there): the call's value becomes the incident's, and everyone already notified of the incident (each assigned company's
/// recipients, whatever tier reached them) is sent a notice on the channels of their notification, through the delivery outbox
/// like any other message. A resolved or closed incident is not changed; the log says so.
/// </summary>
internal static class CfsUpdates
{
    public static async Task ApplyAsync(AgencyScope scope, Guid incidentId, Guid callId, IReadOnlyList<string> fields, DateTimeOffset now)
    {
        var call = await scope.QuerySingleOrDefaultAsync<CallRow>(
            "select source, external_cfs_id, address, priority from cfs_incidents where id = @callId", new { callId });
        // Taken as acknowledgements take it, so neither finds the incident's version moved under it.
        await scope.ExecuteAsync("select 1 from incidents where id = @incidentId for no key update", new { incidentId });
        if (call is null || await IncidentStore.GetAsync(scope, incidentId) is not { } incident) return;
        var sender = call.Source == CallOrigin.CadSource ? "CAD" : "The NG9-1-1 system";
        var moved = fields.Contains("address") && call.Address is { } address && address != incident.Address;
        var reprioritised = fields.Contains("priority") && call.Priority is { } priority && priority != incident.Priority;
        if (!moved && !reprioritised) return;
        string[] changed = [.. CfsChanges.Notified.Where(f => f == "address" ? moved : reprioritised)];
        if (incident.Status is IncidentStatus.Resolved or IncidentStatus.Closed)
        {
            // Nobody is on the way any more; the log keeps the change.
            await Communications.AppendAsync(scope, new CommunicationEntry(incidentId, scope.Context.AgencyId, "cfs_update_not_sent", "internal",
                $"{sender} changed the call's {string.Join(" and ", changed)}, but the incident is {incident.Status}: it was not changed and nobody was notified.",
                new { cfs_incident_id = callId }));
            return;
        }

        var updated = incident;
        if (moved) updated = updated.Relocate(call.Address!);
        if (reprioritised) updated = updated.Reprioritise(call.Priority!);
        await IncidentStore.SaveAsync(scope, incident, updated);
        var notified = (await scope.QueryAsync<Guid>("""
            with recipients as (
                select distinct on (n.notified_user_id, n.agency_id) n.id
                from notifications n
                join incident_agencies a on a.incident_id = n.incident_id and a.agent_agency_id = n.agency_id
                where n.incident_id = @incidentId and n.kind = 'company'
                order by n.notified_user_id, n.agency_id, n.created_at desc, n.id desc),
            chains as (
                select d.*, d.sequence = min(d.sequence) over (partition by d.notification_id) as first
                from notification_deliveries d join recipients r on r.id = d.notification_id
                where d.update_fields is null)
            insert into notification_deliveries (notification_id, incident_id, agency_id, transport_channel_id, transport_type_slug, preference_id,
                                                 sequence, send_status, next_attempt_at, update_fields, created_at, updated_at)
            select notification_id, incident_id, agency_id, transport_channel_id, transport_type_slug, preference_id, sequence,
                   case when first then 'queued' else 'waiting' end, case when first then @now end, @changed, @now, @now
            from chains
            returning notification_id
            """, new { incidentId, now, changed })).Distinct().ToList();
        foreach (var notification in notified) scope.Wakes.Notification(notification);
        await Communications.AppendAsync(scope, new CommunicationEntry(incidentId, scope.Context.AgencyId, "cfs_update_sent", "internal",
            $"{sender} changed the call's {string.Join(" and ", changed)}: the incident follows it, and {notified.Count} notified recipient(s) are told.",
            new { cfs_incident_id = callId, changed, recipients = notified.Count }));
    }

    private sealed record CallRow(string Source, string ExternalCfsId, string? Address, string? Priority);
}
