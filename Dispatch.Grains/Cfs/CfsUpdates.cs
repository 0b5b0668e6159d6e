using System.Globalization;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Storage;

namespace Dispatch.Grains.Cfs;

/// <summary>
/// A CAD (or an NG9-1-1 system) sent a call again that is linked to an incident. In the same transaction: the incident's communications log says
/// what changed (a <c>cfs_update</c> entry, values in its encrypted content only); a new address or priority becomes the
/// incident's, and everyone already notified of the incident (each assigned company's recipients, whatever tier reached them)
/// is sent a notice on the channels of their notification, through the delivery outbox like any other message.
/// </summary>
internal static class CfsUpdates
{
    /// <summary>The fields whose change reaches people, not only the log: where to go, and how urgent it is.</summary>
    public static IReadOnlyList<string> Notified { get; } = ["address", "priority"];

    public static async Task RecordAsync(AgencyScope scope, Guid incidentId, CfsRecord before, CfsRecord after, Guid callId, CallOrigin origin,
        DateTimeOffset now)
    {
        var changes = Changes(before, after);
        scope.Wakes.IncidentChanged(incidentId);
        await Communications.AppendAsync(scope, new CommunicationEntry(incidentId, scope.Context.AgencyId, "cfs_update", "inbound",
            changes.Count == 0 ? $"{origin.Sender} sent {origin.Label} {after.ExternalId} again without changes."
                : $"{origin.Sender} updated {origin.Label} {after.ExternalId}: " + string.Join("; ", changes.Select(c => $"{c.Field}: {c.Text}")),
            CfsCalls.Merge(origin.Entry, new { cfs_incident_id = callId, changed = changes.Select(c => c.Field) }), SenderType: "command_system"));

        // Taken as acknowledgements take it, so neither finds the incident's version moved under it.
        await scope.ExecuteAsync("select 1 from incidents where id = @incidentId for no key update", new { incidentId });
        if (await IncidentStore.GetAsync(scope, incidentId) is not { } incident) return;
        var moved = changes.Any(c => c.Field == "address") && after.Address is { } address && address != incident.Address;
        var reprioritised = changes.Any(c => c.Field == "priority") && after.Priority is { } priority && priority != incident.Priority;
        if (!moved && !reprioritised) return;
        if (incident.Status is IncidentStatus.Resolved or IncidentStatus.Closed)
        {
            // Nobody is on the way any more; the log above keeps the change.
            await Communications.AppendAsync(scope, new CommunicationEntry(incidentId, scope.Context.AgencyId, "cfs_update_not_sent", "internal",
                $"{origin.Sender} changed the call's {string.Join(" and ", Notified.Where(f => f == "address" ? moved : reprioritised))}, "
                + $"but the incident is {incident.Status}: it was not changed and nobody was notified.", new { cfs_incident_id = callId }));
            return;
        }

        var updated = incident;
        if (moved) updated = updated.Relocate(after.Address!);
        if (reprioritised) updated = updated.Reprioritise(after.Priority!);
        await IncidentStore.SaveAsync(scope, incident, updated);
        string[] fields = [.. Notified.Where(f => f == "address" ? moved : reprioritised)];
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
                   case when first then 'queued' else 'waiting' end, case when first then @now end, @fields, @now, @now
            from chains
            returning notification_id
            """, new { incidentId, now, fields })).Distinct().ToList();
        foreach (var notification in notified) scope.Wakes.Notification(notification);
        await Communications.AppendAsync(scope, new CommunicationEntry(incidentId, scope.Context.AgencyId, "cfs_update_sent", "internal",
            $"{origin.Sender} changed the call's {string.Join(" and ", fields)}: the incident follows it, and {notified.Count} notified recipient(s) are told.",
            new { cfs_incident_id = callId, changed = fields, recipients = notified.Count }));
    }

    /// <summary>What differs between the call as stored and as sent again, in a dispatcher's words.</summary>
    public static IReadOnlyList<(string Field, string Text)> Changes(CfsRecord before, CfsRecord after)
    {
        var changes = new List<(string, string)>();
        void Compare(string field, string? was, string? now)
        {
            if (was != now) changes.Add((field, $"'{was}' → '{now}'"));
        }
        Compare("call number", before.CallNumber, after.CallNumber);
        Compare("caller name", before.CallerName, after.CallerName);
        Compare("caller phone", before.CallerPhone, after.CallerPhone);
        Compare("description", before.Description, after.Description);
        Compare("address", before.Address, after.Address);
        Compare("cross streets", before.CrossStreets, after.CrossStreets);
        Compare("priority", before.Priority, after.Priority);
        Compare("type", before.Type, after.Type);
        Compare("nature", before.Nature, after.Nature);
        Compare("status", before.Status, after.Status);
        Compare("units", string.Join(", ", before.Units), string.Join(", ", after.Units));
        Compare("position", Position(before), Position(after));
        var added = after.Narrative.Where(e => !before.Narrative.Contains(e)).ToList();
        if (added.Count > 0)
            changes.Add(("narrative", $"{added.Count} new entr{(added.Count == 1 ? "y" : "ies")}: "
                + string.Join(" | ", added.Select(e => e.At is { } at ? $"[{at.ToUniversalTime():u}] {e.Text}" : e.Text))));
        return changes;
    }

    private static string? Position(CfsRecord r) => r.Latitude is { } lat && r.Longitude is { } lon
        ? string.Create(CultureInfo.InvariantCulture, $"{lat}, {lon}") : null;
}
