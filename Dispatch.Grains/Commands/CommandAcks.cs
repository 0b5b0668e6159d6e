using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using Dispatch.Grains.Storage;

namespace Dispatch.Grains.Commands;

/// <summary>A company's acknowledgement as a command system learns of it, by polling or in a callback's body.</summary>
public sealed record AckEvent(Guid EventId, string Type, Guid IncidentId, Guid CompanyId, string? CompanyName, DateTimeOffset AcknowledgedAt,
    string? Source, Guid? UserId, bool AllCompaniesAcknowledged);

/// <summary>A page of events in order, and the cursor to ask for what comes after them.</summary>
public sealed record AckEventPage(IReadOnlyList<AckEvent> Items, string? Cursor);

/// <summary>
/// Where a poller has read up to: the transaction id (xid8) and event id of the last event it received. Opaque to clients.
/// </summary>
public readonly record struct AckCursor(ulong TransactionId, Guid EventId)
{
    public override string ToString() => $"{TransactionId.ToString(CultureInfo.InvariantCulture)}.{EventId:N}";

    public static bool TryParse(string? text, [NotNullWhen(true)] out AckCursor? cursor)
    {
        cursor = null;
        var dot = text?.IndexOf('.') ?? -1;
        if (text is null || dot <= 0) return false;
        if (!ulong.TryParse(text.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var xid)) return false;
        if (!Guid.TryParseExact(text.AsSpan(dot + 1), "N", out var id)) return false;
        cursor = new AckCursor(xid, id);
        return true;
    }
}

/// <summary>
/// The PSAP's acknowledgement events for its command systems (poll mode). Events are ordered by the transaction that wrote
/// them, and a poll only returns events of transactions older than every transaction still running: a transaction that
/// started earlier but commits later holds the horizon back until it has committed, so a cursor never passes an event
/// that is not yet visible. The price is that events wait for the oldest running writer (normally milliseconds).
/// </summary>
public static class CommandAcks
{
    public const int MaxPageSize = 500;

    public static async Task<AckEventPage> PollAsync(AgencyScope scope, AckCursor? after, int limit)
    {
        var rows = (await scope.QueryAsync<Row>("""
            select id, xact_id::text as transaction_id, payload::text as payload from command_ack_events
            where psap_agency_id = @psap
              and (@xid::text is null or (xact_id, id) > (@xid::text::xid8, @id))
              and xact_id < pg_snapshot_xmin(pg_current_snapshot())
            order by xact_id, id
            limit @limit
            """, new
        {
            psap = scope.Context.AgencyId, xid = after?.TransactionId.ToString(CultureInfo.InvariantCulture), id = after?.EventId ?? Guid.Empty,
            limit = Math.Clamp(limit, 1, MaxPageSize),
        })).ToList();
        var cursor = rows.Count == 0 ? after : new AckCursor(ulong.Parse(rows[^1].TransactionId, CultureInfo.InvariantCulture), rows[^1].Id);
        return new AckEventPage(rows.Select(r => Parse(r.Payload)).ToList(), cursor?.ToString());
    }

    public static AckEvent Parse(string payload) => JsonSerializer.Deserialize<AckEvent>(payload, JsonSerializerOptions.Web)!;

    // Not aliased "xact_id": ORDER BY would then sort by the text ("1000" before "999").
    private sealed record Row(Guid Id, string TransactionId, string Payload);
}
