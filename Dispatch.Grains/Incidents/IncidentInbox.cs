using System.Text.Json;
using Dispatch.Grains.Storage;

namespace Dispatch.Grains.Incidents;

/// <summary>One piece of work waiting in an incident's inbox.</summary>
internal sealed record IncidentInboxItem(Guid Id, Guid IncidentId, Guid AgencyId, string Kind, Guid CfsIncidentId, string Payload);

/// <summary>A call to raise: at this priority and under this title, for these companies.</summary>
internal sealed record RaisePlan(string Priority, string Title, IReadOnlyList<Guid> Companies);

/// <summary>
/// Work for an incident that a writer outside its grain commits (<c>incident_inbox</c>): a new call to raise, a call's update
/// that moves or reprioritises the incident. It is written in the writer's own transaction, beside what caused it, and handed
/// to the incident's grain after the commit (<see cref="GrainWakes.Inbox"/>); the grain applies it and removes it in one
/// transaction of its own, so the incident keeps one writer and the work is neither lost nor done twice.
/// </summary>
internal static class IncidentInbox
{
    public const string Raise = "raise";
    public const string CallUpdate = "call_update";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerOptions.Web);

    /// <summary>Records that <paramref name="callId"/> is to be raised as incident <paramref name="incidentId"/> (an id chosen now).</summary>
    public static Task RaiseAsync(AgencyScope scope, Guid incidentId, Guid callId, RaisePlan plan) =>
        AddAsync(scope, incidentId, Raise, callId, JsonSerializer.Serialize(plan, Json));

    /// <summary>Records that the call linked to <paramref name="incidentId"/> changed <paramref name="fields"/> (address, priority).</summary>
    public static Task CallUpdatedAsync(AgencyScope scope, Guid incidentId, Guid callId, IReadOnlyList<string> fields) =>
        AddAsync(scope, incidentId, CallUpdate, callId, JsonSerializer.Serialize(new { fields }, Json));

    private static async Task AddAsync(AgencyScope scope, Guid incidentId, string kind, Guid callId, string payload)
    {
        await scope.ExecuteAsync("""
            insert into incident_inbox (incident_id, agency_id, kind, cfs_incident_id, payload) values (@incidentId, @agency, @kind, @callId, @payload::jsonb)
            """, new { incidentId, agency = scope.Context.AgencyId, kind, callId, payload });
        scope.Wakes.Inbox(incidentId);
    }

    public static RaisePlan PlanOf(IncidentInboxItem item) => JsonSerializer.Deserialize<RaisePlan>(item.Payload, Json)!;

    public static IReadOnlyList<string> FieldsOf(IncidentInboxItem item) =>
        JsonSerializer.Deserialize<JsonElement>(item.Payload).GetProperty("fields").EnumerateArray().Select(f => f.GetString()!).ToList();

    /// <summary>The incident's waiting work, oldest first.</summary>
    public static async Task<IReadOnlyList<IncidentInboxItem>> ForAsync(EngineScope scope, Guid incidentId) => (await scope.QueryAsync<IncidentInboxItem>("""
        select id, incident_id, agency_id, kind, cfs_incident_id, payload::text as payload from incident_inbox
        where incident_id = @incidentId order by created_at, id
        """, new { incidentId })).ToList();

    public static Task RemoveAsync(StoreScope scope, Guid id) => scope.ExecuteAsync("delete from incident_inbox where id = @id", new { id });

    /// <summary>The incidents with work waiting since before <paramref name="before"/> (all of them: <see cref="DateTimeOffset.MaxValue"/>).</summary>
    public static Task<IEnumerable<Guid>> WaitingAsync(EngineScope scope, DateTimeOffset before) =>
        scope.QueryAsync<Guid>("select distinct incident_id from incident_inbox where created_at < @before", new { before });
}
