using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dispatch.Grains.Cfs;
using Dispatch.Grains.Storage;

namespace Dispatch.Grains.Eido;

/// <summary>
/// What an event was answered: the STA-024 <c>statusCode</c> and <c>statusText</c>; <see cref="Repeated"/> when its transactionId
/// had been seen before (the first answer is given again, nothing is applied twice).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record EidoOutcome(
    [property: Id(0)] int StatusCode,
    [property: Id(1)] string StatusText,
    [property: Id(2)] bool Repeated,
    [property: Id(3)] IReadOnlyList<Guid> CallIds,
    [property: Id(4)] int Raised,
    [property: Id(5)] int Warnings);

/// <summary>How an event reached Dispatch.</summary>
public static class EidoVia
{
    public const string WebSocket = "websocket";
    public const string Https = "https";
}

/// <summary>
/// Applying one event — a transactionId and its EIDOs — in the caller's transaction, run as the subscription's PSAP. The event's
/// row is written first and is unique per subscription and transactionId: an event sent again (after a reconnect, by a second
/// activation during a failover, by an HTTPS client retrying) finds it and is answered as the first time, and nothing is applied
/// twice. Each EIDO becomes a call (source <c>eido</c>), raised as an incident when the mapping says so; an EIDO that cannot be
/// used at all is named in a 400 answer while the others are applied.
/// </summary>
public static class EidoIntake
{
    public const int MaxEidosPerEvent = 100;
    private static readonly Meter Meter = new("Dispatch.Eido");
    private static readonly Counter<long> Events = Meter.CreateCounter<long>("dispatch.eido.events", "{event}", "EIDO events received, by status code and how they came.");
    private static readonly Counter<long> Calls = Meter.CreateCounter<long>("dispatch.eido.eidos", "{eido}", "EIDOs applied as calls.");

    public static async Task<EidoOutcome> ApplyAsync(AgencyScope scope, Guid subscriptionId, EidoMapping mapping, string transactionId, string via,
        IReadOnlyList<JsonNode?> eidos, DateTimeOffset now)
    {
        var eventId = Guid.CreateVersion7();
        var inserted = await scope.ExecuteScalarAsync<Guid?>("""
            insert into eido_events (id, agency_id, eido_subscription_id, transaction_id, via, status_code, status_text, eido_count, received_at)
            values (@eventId, @agency, @subscriptionId, @transactionId, @via, 102, 'Applying', @count, @now)
            on conflict (eido_subscription_id, transaction_id) do nothing
            returning id
            """, new { eventId, agency = scope.Context.AgencyId, subscriptionId, transactionId, via, count = eidos.Count, now });
        if (inserted is null)
        {
            var first = (await scope.QuerySingleOrDefaultAsync<SeenRow>("""
                select status_code, status_text, array_to_json(cfs_incident_ids)::text as cfs_incident_ids, warning_count from eido_events
                where eido_subscription_id = @subscriptionId and transaction_id = @transactionId
                """, new { subscriptionId, transactionId }))!;
            Events.Add(1, new("dispatch.eido.status_code", first.StatusCode), new("dispatch.eido.via", via), new("dispatch.eido.repeated", true));
            return new EidoOutcome(first.StatusCode, first.StatusText, true, JsonSerializer.Deserialize<Guid[]>(first.CfsIncidentIds) ?? [], 0,
                first.WarningCount);
        }

        EidoOutcome outcome;
        if (eidos.Count > MaxEidosPerEvent)
            outcome = new(413, $"The event carries {eidos.Count} EIDOs; at most {MaxEidosPerEvent} are taken in one event. Nothing was applied.", false, [], 0, 0);
        else outcome = await ApplyEachAsync(scope, subscriptionId, eventId, mapping, eidos, now);

        await scope.ExecuteAsync("""
            update eido_events set status_code = @StatusCode, status_text = @StatusText, warning_count = @Warnings, cfs_incident_ids = @ids where id = @eventId;
            update eido_subscriptions set last_event_at = @now where id = @subscriptionId;
            """, new { outcome.StatusCode, outcome.StatusText, outcome.Warnings, ids = outcome.CallIds.ToArray(), eventId, subscriptionId, now });
        Events.Add(1, new("dispatch.eido.status_code", outcome.StatusCode), new("dispatch.eido.via", via), new("dispatch.eido.repeated", false));
        Calls.Add(outcome.CallIds.Count);
        return outcome;
    }

    private static async Task<EidoOutcome> ApplyEachAsync(AgencyScope scope, Guid subscriptionId, Guid eventId, EidoMapping mapping,
        IReadOnlyList<JsonNode?> eidos, DateTimeOffset now)
    {
        var problems = new List<string>();
        var calls = new List<Guid>();
        int raised = 0, warnings = 0, stale = 0;
        for (var i = 0; i < eidos.Count; i++)
        {
            EidoCall call;
            try
            {
                call = EidoReader.Read(eidos[i]);
            }
            catch (EidoUnusableException e)
            {
                problems.Add($"notification[{i}]: {e.Message}");
                continue;
            }
            var (record, raise, _) = Decide(call, mapping);
            var upsert = await CfsCalls.UpsertAsync(scope, CallOrigin.Eido(subscriptionId, eventId), record, raise, call.LastUpdated, now);
            calls.Add(upsert.Id);
            warnings += record.Warnings.Count;
            if (upsert.Stale) stale++;
            else if (!upsert.Updated && raise is not null) raised++;
        }

        var applied = calls.Count - stale;
        var summary = $"{applied} EIDO(s) applied" + (stale > 0 ? $", {stale} older than what was already received and not applied" : "")
            + (warnings > 0 ? $", {warnings} field(s) unreadable (warnings on the calls)" : "") + ".";
        return problems.Count == 0
            ? new EidoOutcome(200, eidos.Count == 0 ? "OK: the event carries no EIDO." : $"OK: {summary}", false, calls, raised, warnings)
            : new EidoOutcome(400, $"{problems.Count} of {eidos.Count} EIDO(s) could not be used: {string.Join("; ", problems)}. {summary}", false, calls,
                raised, warnings);
    }

    /// <summary>
    /// The call with its Dispatch priority, the incident to raise if it is new, and the mapping's decision (the rule that matched);
    /// a rule that matched but gave no priority is a warning.
    /// </summary>
    public static (CfsRecord Record, CallRaise? Raise, EidoDecision Decision) Decide(EidoCall call, EidoMapping mapping)
    {
        var decision = mapping.Decide(call.Record.Type, call.TypeCode, call.PriorityNumber);
        var record = call.Record with { Priority = decision.Priority };
        if (decision.Companies.Count > 0 && decision.Priority is null)
            record = record with
            {
                Warnings = [.. record.Warnings, $"mapping: the rule for type '{decision.Rule!.Type}' names companies but no priority applies "
                    + $"(common priority number {call.PriorityNumber?.ToString() ?? "absent"}): the call is kept, not raised."],
            };
        return (record, decision.Raises ? new CallRaise(decision.Priority!, decision.Companies) : null, decision);
    }

    private sealed record SeenRow(int StatusCode, string StatusText, string CfsIncidentIds, int WarningCount);
}
