using Dispatch.Grains.Agencies;
using Dispatch.Grains.Escalation;
using Dispatch.Grains.Routing;
using Dispatch.Grains.Storage;

namespace Dispatch.Grains.Commands;

/// <summary>How long past its interval a command connection may stay silent before its PSAP users are alerted.</summary>
public sealed class HeartbeatOptions
{
    public const string Section = "Dispatch:Heartbeats";

    /// <summary>
    /// Slack for the network and for the Api's batched usage stamps (any authenticated call counts as a heartbeat, stamped every few
    /// seconds); an explicit heartbeat reaches the watch at once.
    /// </summary>
    public TimeSpan Grace { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>What a command connection is told when it sends a heartbeat, and what the API shows of its watch.</summary>
/// <param name="Status"><c>off</c> (no interval set), <c>ok</c> (heard within it), or <c>silent</c> (an outage was declared).</param>
/// <param name="ExpectedBy">When silence becomes an outage, unless it is heard from before.</param>
[GenerateSerializer, Immutable]
public sealed record HeartbeatStatus(Guid ConnectionId, string Status, int? IntervalSeconds,
    DateTimeOffset? LastSeenAt, DateTimeOffset? ExpectedBy, DateTimeOffset? SilentSince);

/// <summary>
/// A connection's heartbeat watch as its grain holds it: the promised interval, when it was last heard from, and whether an outage
/// is declared. Pure: the grain decides with it, the rows are written by <see cref="Heartbeats"/>.
/// </summary>
public sealed record HeartbeatWatch(Guid ConnectionId, Guid PsapAgencyId, bool IsActive, int? IntervalSeconds, DateTimeOffset? SetAt,
    DateTimeOffset? LastSeenAt, DateTimeOffset? OutageAt, IReadOnlyList<Guid> NotifyPsapUserIds)
{
    public bool Watching => IsActive && IntervalSeconds is not null && SetAt is not null;

    /// <summary>Since when nothing was heard: the last call, or the moment the heartbeat was set up if none came since.</summary>
    public DateTimeOffset? QuietSince => !Watching ? null : LastSeenAt is { } seen && seen > SetAt!.Value ? seen : SetAt;

    /// <summary>When the silence becomes an outage; null when not watching or an outage is already declared.</summary>
    public DateTimeOffset? DueAt(TimeSpan grace) => OutageAt is null && QuietSince is { } quiet ? quiet.AddSeconds(IntervalSeconds!.Value) + grace : null;

    public HeartbeatWatch Seen(DateTimeOffset at) => LastSeenAt is { } seen && seen >= at ? this : this with { LastSeenAt = at };

    /// <summary>Heard from after the outage was declared: the outage is over.</summary>
    public bool Recovered => OutageAt is { } outage && LastSeenAt is { } seen && seen > outage;

    public HeartbeatStatus Status(TimeSpan grace) => new(ConnectionId, !Watching ? "off" : OutageAt is null ? "ok" : "silent", IntervalSeconds,
        LastSeenAt, DueAt(grace), OutageAt is null ? null : QuietSince);
}

/// <summary>
/// The heartbeat watch's rows: the connection's promise and outage, and the heartbeat alerts to the PSAP users it names, routed over
/// their own channels and sent by the delivery engine like any notification (kind <c>heartbeat</c>, no incident). Each change is
/// conditional on the row, so an outage is declared, and ended, once whatever activation asks.
/// </summary>
internal static class Heartbeats
{
    /// <summary>
    /// Since when a connection has been silent, in SQL over <c>command_connections</c>: its last contact, or the moment its heartbeat
    /// was set up if none came since (<c>greatest</c> leaves out a null) — <see cref="HeartbeatWatch.QuietSince"/> in the rows.
    /// </summary>
    internal const string QuietSince = "greatest(last_seen_at, heartbeat_set_at)";

    public static async Task<HeartbeatWatch?> LoadAsync(EngineScope scope, Guid connectionId)
    {
        var row = await scope.QuerySingleOrDefaultAsync<Row>("""
            select id, psap_agency_id, is_active, heartbeat_interval_seconds, heartbeat_set_at, last_seen_at, heartbeat_outage_at,
                   notify_psap_user_ids::text as notify_psap_user_ids
            from command_connections where id = @connectionId
            """, new { connectionId });
        return row?.ToWatch();
    }

    /// <summary>Stamps the connection heard from at <paramref name="at"/> (never moving the stamp back).</summary>
    public static Task SeenAsync(EngineScope scope, Guid connectionId, DateTimeOffset at) => scope.ExecuteAsync(
        "update command_connections set last_seen_at = greatest(coalesce(last_seen_at, @at), @at) where id = @connectionId",
        new { connectionId, at });

    /// <summary>
    /// Declares the outage, if the row agrees the connection is still silent and none is declared: alerts its PSAP users. Returns the
    /// watch as written, or null when the row says otherwise (heard from meanwhile, or declared already).
    /// </summary>
    public static async Task<HeartbeatWatch?> DeclareOutageAsync(EngineScope scope, HeartbeatWatch watch, TimeSpan grace, DateTimeOffset now)
    {
        var declared = await scope.ExecuteAsync($"""
            update command_connections set heartbeat_outage_at = @now
            where id = @ConnectionId and is_active and heartbeat_interval_seconds is not null and heartbeat_outage_at is null
              and {QuietSince} + make_interval(secs => heartbeat_interval_seconds) + @grace <= @now
            """, new { watch.ConnectionId, now, grace });
        if (declared == 0) return null;
        var written = (await LoadAsync(scope, watch.ConnectionId))!;
        await AlertAsync(scope, written, AlertReason.HeartbeatLost, now);
        await scope.AuditAsync(written.PsapAgencyId, "command_connection.heartbeat_lost", "command_connection", written.ConnectionId, null,
            new { silent_since = written.QuietSince, interval_seconds = written.IntervalSeconds });
        return written;
    }

    /// <summary>Ends the declared outage of a connection heard from at <paramref name="seenAt"/>: its PSAP users are told. Null when none was declared.</summary>
    public static async Task<HeartbeatWatch?> EndOutageAsync(EngineScope scope, Guid connectionId, DateTimeOffset seenAt, DateTimeOffset now)
    {
        var outage = await scope.ExecuteScalarAsync<DateTime?>("""
            update command_connections c set heartbeat_outage_at = null, last_seen_at = greatest(coalesce(c.last_seen_at, @seenAt), @seenAt)
            from (select id, heartbeat_outage_at from command_connections where id = @connectionId for update) before
            where c.id = before.id and before.heartbeat_outage_at is not null and before.heartbeat_outage_at < @seenAt
            returning before.heartbeat_outage_at
            """, new { connectionId, seenAt });
        if (outage is null) return null;
        var written = (await LoadAsync(scope, connectionId))!;
        if (written.Watching) await AlertAsync(scope, written, AlertReason.HeartbeatRecovered, now);
        await scope.AuditAsync(written.PsapAgencyId, "command_connection.heartbeat_recovered", "command_connection", connectionId,
            new { outage_at = Time.Utc(outage) }, new { heard_at = seenAt });
        return written;
    }

    // The connection's PSAP users, each on their own channels in their order (their rules and time windows apply, as for any alert).
    private static async Task AlertAsync(EngineScope scope, HeartbeatWatch watch, string reason, DateTimeOffset now)
    {
        if (watch.NotifyPsapUserIds.Count == 0) return;
        await Assignments.NotifyAsync(scope, new RoutingRequest("critical", null, now, new EscalationTier(watch.NotifyPsapUserIds, null)),
            new Assignments.PlanTarget(null, watch.PsapAgencyId, "heartbeat", 0, 0, null, Heartbeat: (watch.ConnectionId, reason)), now);
    }

    /// <summary>The connections whose silence is overdue (past interval, grace and <paramref name="late"/>) with no outage declared: their watch was lost.</summary>
    public static Task<IEnumerable<Guid>> OverdueAsync(EngineScope scope, DateTimeOffset now, TimeSpan grace, TimeSpan late) => scope.QueryAsync<Guid>($"""
        select id from command_connections
        where is_active and heartbeat_interval_seconds is not null and heartbeat_outage_at is null
          and {QuietSince} + make_interval(secs => heartbeat_interval_seconds) <= @due
        """, new { due = now - grace - late });

    /// <summary>Every connection with a heartbeat watch: whose grains hold its timer.</summary>
    public static Task<IEnumerable<Guid>> WatchedAsync(EngineScope scope) => scope.QueryAsync<Guid>(
        "select id from command_connections where is_active and heartbeat_interval_seconds is not null and heartbeat_outage_at is null");

    private sealed record Row(Guid Id, Guid PsapAgencyId, bool IsActive, int? HeartbeatIntervalSeconds, DateTime? HeartbeatSetAt, DateTime? LastSeenAt,
        DateTime? HeartbeatOutageAt, string NotifyPsapUserIds)
    {
        public HeartbeatWatch ToWatch() => new(Id, PsapAgencyId, IsActive, HeartbeatIntervalSeconds, Time.Utc(HeartbeatSetAt), Time.Utc(LastSeenAt),
            Time.Utc(HeartbeatOutageAt), System.Text.Json.JsonSerializer.Deserialize<List<Guid>>(NotifyPsapUserIds) ?? []);
    }
}
