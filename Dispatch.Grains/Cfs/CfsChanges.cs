using System.Globalization;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Storage;

namespace Dispatch.Grains.Cfs;

/// <summary>
/// A CAD (or an NG9-1-1 system) sent a call again that is linked to an incident. In the same transaction as the call's row: the
/// incident's communications log says what changed (a <c>cfs_update</c> entry, values in its encrypted content only), and a new
/// address or priority is left in the incident's inbox for its grain, which moves the incident and tells everyone notified
/// (<see cref="CfsUpdates"/>).
/// </summary>
internal static class CfsChanges
{
    /// <summary>The fields whose change reaches people, not only the log: where to go, and how urgent it is.</summary>
    public static IReadOnlyList<string> Notified { get; } = ["address", "priority"];

    public static async Task RecordAsync(AgencyScope scope, Guid incidentId, CfsRecord before, CfsRecord after, Guid callId, CallOrigin origin)
    {
        var changes = Between(before, after);
        var content = origin.About(callId);
        content["changed"] = changes.Select(c => c.Field).ToList();
        scope.Wakes.IncidentChanged(incidentId);
        await Communications.AppendAsync(scope, new CommunicationEntry(incidentId, scope.Context.AgencyId, "cfs_update", "inbound",
            changes.Count == 0 ? $"{origin.Sender} sent {origin.Label} {after.ExternalId} again without changes."
                : $"{origin.Sender} updated {origin.Label} {after.ExternalId}: " + string.Join("; ", changes.Select(c => $"{c.Field}: {c.Text}")),
            content, SenderType: "command_system"));
        string[] fields = [.. Notified.Where(f => changes.Any(c => c.Field == f))];
        if (fields.Length > 0) await IncidentInbox.CallUpdatedAsync(scope, incidentId, callId, fields);
    }

    /// <summary>What differs between the call as stored and as sent again, in a dispatcher's words.</summary>
    public static IReadOnlyList<(string Field, string Text)> Between(CfsRecord before, CfsRecord after)
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
