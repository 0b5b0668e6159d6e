using Dispatch.Grains.Incidents;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;

namespace Dispatch.Grains.Commands;

/// <summary>How hard the Silo tries to reach a command system before a callback is dead-lettered.</summary>
public sealed class CallbackOptions
{
    public const string Section = "Dispatch:Callbacks";

    public int MaxAttempts { get; set; } = 10;
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(2);
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(5);
    public TimeSpan ClaimLease { get; set; } = TimeSpan.FromSeconds(60);
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
    public int BatchSize { get; set; } = 32;

    /// <summary>Exponential backoff with ±20% jitter after <paramref name="attempt"/> failed attempts.</summary>
    public TimeSpan RetryDelay(int attempt, double jitter01) =>
        Notifications.DeliveryOptions.Backoff(FirstRetryDelay, MaxRetryDelay, attempt, jitter01);
}

/// <summary>A claimed callback: where it goes, the secret that signs it, and the exact body to sign and send.</summary>
public sealed record ClaimedCallback(Guid Id, Guid EventId, Guid ConnectionId, Guid PsapAgencyId, Guid IncidentId, int Attempt, string Url, string Secret,
    string Body, bool ConnectionActive);

/// <summary>The result of one POST to a command system; <paramref name="Final"/>: no point in trying again.</summary>
public sealed record CallbackResult(bool Delivered, int? StatusCode, string? Error, bool Final = false);

public sealed record CallbackView(Guid Id, Guid EventId, Guid IncidentId, string Status, int AttemptCount, int? LastStatusCode, string? LastError,
    DateTimeOffset? NextAttemptAt, DateTimeOffset? DeliveredAt, DateTimeOffset CreatedAt);

/// <summary>
/// The callback outbox (rows written with the acknowledgement, see migration 0007): claimed per connection by its grain with
/// FOR UPDATE SKIP LOCKED and a lease, POSTed outside any transaction, the outcome recorded after. At least once: the event id lets the receiver drop repeats.
/// </summary>
public static class CommandCallbacks
{
    /// <summary>Claims the connection's due callbacks, oldest event first (queued and due, or a send whose lease ran out).</summary>
    public static async Task<IReadOnlyList<ClaimedCallback>> ClaimAsync(EngineScope scope, Guid connectionId, DateTimeOffset now, CallbackOptions options,
        string claimedBy)
    {
        var rows = await scope.QueryAsync<Row>("""
            with due as (
                select id from command_callbacks
                where command_connection_id = @connectionId
                  and ((status = 'queued' and next_attempt_at <= @now) or (status = 'sending' and claimed_until <= @now))
                order by created_at, id
                for update skip locked
                limit @batch)
            update command_callbacks cb
            set status = 'sending', attempt_count = cb.attempt_count + 1, claimed_until = @leaseUntil, claimed_by = @claimedBy, version = cb.version + 1, updated_at = @now
            from due, command_ack_events e, command_connections c
            where cb.id = due.id and e.id = cb.event_id and c.id = cb.command_connection_id
            returning cb.id, cb.event_id, cb.command_connection_id, cb.psap_agency_id, e.incident_id, cb.attempt_count, c.public_url,
                      c.callback_secret, e.payload::text as body, c.is_active as connection_active, cb.created_at
            """, new { connectionId, now, leaseUntil = now + options.ClaimLease, claimedBy, batch = options.BatchSize });
        return rows.OrderBy(r => r.CreatedAt).ThenBy(r => r.Id).Select(r => new ClaimedCallback(r.Id, r.EventId, r.CommandConnectionId, r.PsapAgencyId, r.IncidentId, r.AttemptCount, r.PublicUrl ?? "",
            scope.Cipher.DecryptText(r.CallbackSecret, EncryptedColumns.CallbackSecret.Context) ?? "", r.Body, r.ConnectionActive)).ToList();
    }

    /// <summary>
    /// Records outcomes — delivered, retried later with backoff, or dead-lettered after the last attempt — several in one round trip (a batch: each callback's update, and its log entry written only if that update
    /// applied, then when the connection's next callback falls due); answers each one's status ("superseded" where the claim had
    /// passed to another attempt) and that moment.
    /// </summary>
    public static async Task<(IReadOnlyList<string> Statuses, DateTime? NextDue)> CompleteAsync(EngineScope scope, Guid connectionId,
        IReadOnlyList<(ClaimedCallback Callback, CallbackResult Result)> outcomes, DateTimeOffset now, CallbackOptions options, double jitter01)
    {
        var statuses = outcomes.Select(o => o.Result.Delivered ? "delivered"
            : !o.Result.Final && o.Callback.Attempt < options.MaxAttempts ? "queued" : "dead_lettered").ToList();
        var statements = new List<BatchStatement>();
        var updates = new List<int>();
        for (var i = 0; i < outcomes.Count; i++)
        {
            var (callback, result) = outcomes[i];
            var status = statuses[i];
            updates.Add(statements.Count);
            statements.Add(new("""
                update command_callbacks
                set status = @status, last_status_code = @StatusCode, last_error = @Error, claimed_until = null, claimed_by = null,
                    next_attempt_at = @next, delivered_at = case when @status = 'delivered' then @now end, version = version + 1, updated_at = @now
                where id = @Id and status = 'sending' and attempt_count = @Attempt
                """, new
            {
                status, result.StatusCode, result.Error, next = status == "queued" ? now + options.RetryDelay(callback.Attempt, jitter01) : (DateTimeOffset?)null,
                now, callback.Id, callback.Attempt,
            }));
            if (status == "queued") continue;
            // Logged only if this attempt's update applied (the row now says so).
            statements.Add(Communications.StatementIf(scope.Cipher, new CommunicationEntry(callback.IncidentId, callback.PsapAgencyId, "command_callback", "outbound",
                status == "delivered" ? $"Acknowledgement event {callback.EventId} delivered to the command system."
                                      : $"Acknowledgement event {callback.EventId} could not be delivered after {callback.Attempt} attempts: {result.Error}",
                new { callback_id = callback.Id, event_id = callback.EventId, connection_id = callback.ConnectionId, status, attempts = callback.Attempt,
                      status_code = result.StatusCode },
                ReceiverType: "command_system", ReceiverAgencyId: callback.PsapAgencyId),
                """
                exists (select 1 from command_callbacks
                        where id = @CallbackId and status = @CallbackStatus and attempt_count = @CallbackAttempt and updated_at = @CallbackAt)
                """, new { CallbackId = callback.Id, CallbackStatus = status, CallbackAttempt = callback.Attempt, CallbackAt = now }));
        }
        statements.Add(NextDueStatement(connectionId));
        var written = await scope.BatchAsync(statements);
        return (updates.Select((index, i) => written.Affected[index] == 0 ? "superseded" : statuses[i]).ToList(), written.Value<DateTime?>("next_due"));
    }

    /// <summary>When the connection's next callback falls due (a retry, or a send whose lease runs out); null when none is pending.</summary>
    public static async Task<DateTime?> NextDueAsync(EngineScope scope, Guid connectionId) =>
        (await scope.BatchAsync([NextDueStatement(connectionId)])).Value<DateTime?>("next_due");

    private static BatchStatement NextDueStatement(Guid connectionId) => new("""
        select min(case when status = 'queued' then next_attempt_at else claimed_until end) as next_due from command_callbacks
        where command_connection_id = @connectionId and status in ('queued', 'sending')
        """, new { connectionId });

    /// <summary>A connection's callbacks, newest first, optionally of one status; null when the PSAP has no such connection.</summary>
    public static async Task<(IReadOnlyList<CallbackView> Items, long Total)?> ListAsync(AgencyScope scope, Guid connectionId, string? status, long offset, int limit)
    {
        if (!await scope.ExecuteScalarAsync<bool>("select exists (select 1 from command_connections where id = @connectionId)", new { connectionId }))
            return null;
        var items = await scope.QueryAsync<ViewRow>("""
            select cb.id, cb.event_id, e.incident_id, cb.status, cb.attempt_count, cb.last_status_code, cb.last_error, cb.next_attempt_at,
                   cb.delivered_at, cb.created_at
            from command_callbacks cb join command_ack_events e on e.id = cb.event_id
            where cb.command_connection_id = @connectionId and (@status::text is null or cb.status = @status)
            order by cb.created_at desc, cb.id offset @offset limit @limit
            """, new { connectionId, status, offset, limit });
        var total = await scope.ExecuteScalarAsync<long>(
            "select count(*) from command_callbacks where command_connection_id = @connectionId and (@status::text is null or status = @status)",
            new { connectionId, status });
        return (items.Select(r => new CallbackView(r.Id, r.EventId, r.IncidentId, r.Status, r.AttemptCount, r.LastStatusCode, r.LastError,
            Time.Utc(r.NextAttemptAt), Time.Utc(r.DeliveredAt), Time.Utc(r.CreatedAt))).ToList(), total);
    }

    private sealed record Row(Guid Id, Guid EventId, Guid CommandConnectionId, Guid PsapAgencyId, Guid IncidentId, int AttemptCount, string? PublicUrl,
        byte[]? CallbackSecret, string Body, bool ConnectionActive, DateTime CreatedAt);

    private sealed record ViewRow(Guid Id, Guid EventId, Guid IncidentId, string Status, int AttemptCount, int? LastStatusCode, string? LastError,
        DateTime? NextAttemptAt, DateTime? DeliveredAt, DateTime CreatedAt);
}
