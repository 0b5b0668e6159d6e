using System.Text.Json;
using Dispatch.Grains.Storage;

namespace Dispatch.Grains.Incidents;

/// <summary>One piece of work waiting in an incident's inbox.</summary>
internal sealed record IncidentInboxItem(Guid Id, Guid IncidentId, Guid AgencyId, string Kind, Guid? CfsIncidentId, string Payload);

/// <summary>A call to raise: at this priority and under this title, for these companies.</summary>
internal sealed record RaisePlan(string Priority, string Title, IReadOnlyList<Guid> Companies);

/// <summary>
/// Work for an incident that a writer outside its grain commits (<c>incident_inbox</c>): a new call to raise, a call's update
/// that moves or reprioritises the incident, a recipient found unreachable whose PSAP must be alerted. It is written in the writer's own transaction, beside what caused it, and handed
/// to the incident's grain after the commit (<see cref="GrainWakes.Inbox"/>); the grain applies it and removes it in one
/// transaction of its own, so the incident keeps one writer and the work is neither lost nor done twice.
/// </summary>
internal static class IncidentInbox
{
    public const string Raise = "raise";
    public const string CallUpdate = "call_update";
    public const string PsapAlert = "psap_alert";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerOptions.Web);

    /// <summary>
    /// Records that <paramref name="callId"/> is to be raised as incident <paramref name="incidentId"/> (an id chosen now), and hands
    /// the raise — with the call's fields as this transaction wrote them — to the incident's grain after the commit.
    /// </summary>
    public static async Task RaiseAsync(AgencyScope scope, Guid incidentId, Guid callId, RaisePlan plan, string description, string? address, string? type)
    {
        var item = await AddAsync(scope, incidentId, Raise, callId, JsonSerializer.Serialize(plan, Json));
        scope.Wakes.Raise(incidentId, new IncidentRaise(item, scope.Context.AgencyId, Draft(plan, callId, description, address, type)));
    }

    /// <summary>What the grain creates for a raise: the plan's priority, title and companies, the call's text, address and type.</summary>
    public static IncidentDraft Draft(RaisePlan plan, Guid callId, string description, string? address, string? type) =>
        new(plan.Priority, plan.Title, description, address, type, plan.Companies, System.Diagnostics.Activity.Current?.Id, callId);

    /// <summary>Records that the call linked to <paramref name="incidentId"/> changed <paramref name="fields"/> (address, priority).</summary>
    public static async Task CallUpdatedAsync(AgencyScope scope, Guid incidentId, Guid callId, IReadOnlyList<string> fields)
    {
        await AddAsync(scope, incidentId, CallUpdate, callId, JsonSerializer.Serialize(new { fields }, Json));
        scope.Wakes.Inbox(incidentId);
    }

    /// <summary>
    /// Records that a recipient at <paramref name="companyId"/> could not be reached on any channel: the incident's grain alerts the
    /// PSAP users the company's rule names (the PSAP is <paramref name="psapAgencyId"/>).
    /// </summary>
    public static async Task UnreachableAsync(StoreScope scope, Guid incidentId, Guid psapAgencyId, Guid companyId)
    {
        await AddAsync(scope, psapAgencyId, incidentId, PsapAlert, null, JsonSerializer.Serialize(new { companyId }, Json));
        scope.Wakes.Inbox(incidentId);
    }

    public static Guid CompanyOf(IncidentInboxItem item) => JsonSerializer.Deserialize<JsonElement>(item.Payload).GetProperty("companyId").GetGuid();

    private static Task<Guid> AddAsync(AgencyScope scope, Guid incidentId, string kind, Guid callId, string payload) =>
        AddAsync(scope, scope.Context.AgencyId, incidentId, kind, callId, payload);

    private static async Task<Guid> AddAsync(StoreScope scope, Guid agencyId, Guid incidentId, string kind, Guid? callId, string payload)
    {
        var id = Guid.CreateVersion7();
        await scope.ExecuteAsync("""
            insert into incident_inbox (id, incident_id, agency_id, kind, cfs_incident_id, payload) values (@id, @incidentId, @agencyId, @kind, @callId, @payload::jsonb)
            """, new { id, incidentId, agencyId, kind, callId, payload });
        return id;
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
