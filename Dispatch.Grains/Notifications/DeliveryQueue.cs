using System.Text.Json.Nodes;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Routing;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;
using Dispatch.Grains.Transports;

namespace Dispatch.Grains.Notifications;

/// <summary>How hard the engine tries before a delivery is dead-lettered.</summary>
public sealed class DeliveryOptions
{
    public const string Section = "Dispatch:Delivery";

    public int MaxAttempts { get; set; } = 8;
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(2);
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a claim lasts: a delivery claimed by a process that died is claimed again after this.</summary>
    public TimeSpan ClaimLease { get; set; } = TimeSpan.FromSeconds(60);

    public int BatchSize { get; set; } = 32;

    /// <summary>Exponential backoff with ±20% jitter after <paramref name="attempt"/> failed attempts.</summary>
    public TimeSpan RetryDelay(int attempt, double jitter01) => Backoff(FirstRetryDelay, MaxRetryDelay, attempt, jitter01);

    /// <summary><paramref name="first"/> doubled per further attempt, capped at <paramref name="max"/>, ±20% jitter.</summary>
    public static TimeSpan Backoff(TimeSpan first, TimeSpan max, int attempt, double jitter01)
    {
        var exponential = first.TotalMilliseconds * Math.Pow(2, Math.Max(0, attempt - 1));
        var capped = Math.Min(exponential, max.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.8 + 0.4 * jitter01));
    }
}

/// <summary>A claimed delivery as stored, its secrets still encrypted: what a notification's grain is handed.</summary>
/// <remarks>A heartbeat alert has no incident (<paramref name="IncidentId"/> null): it names its command connection instead.</remarks>
[GenerateSerializer, Immutable]
public sealed record DeliveryRow(Guid Id, Guid IdempotencyKey, int AttemptCount, string TransportTypeSlug, Guid AgencyId, string? TraceParent,
    string? UpdateFields, Guid NotificationId, Guid UserId, Guid? AboutAgencyId, string? AlertReason, string? AboutName, Guid? IncidentId,
    Guid PsapAgencyId, string Priority, string Title, string Description, byte[]? Address, string Email, string UserName, string ChannelConfig,
    string? Override, Guid? ConnectionId, string? ConnectionName, int? HeartbeatInterval, DateTime? SilentSince, DateTime CreatedAt);

/// <summary>A notification's deliveries claimed by <paramref name="ClaimedBy"/> in the transaction that queued them, handed to its grain.</summary>
[GenerateSerializer, Immutable]
public sealed record NotificationWork(Guid NotificationId, string ClaimedBy, IReadOnlyList<DeliveryRow> Rows, PsapAlert? Alert);

/// <summary>A claimed delivery with everything needed to send it.</summary>
public sealed record ClaimedDelivery(OutboundMessage Message, string TransportSlug, Guid AgencyId, Guid PsapAgencyId, Guid UserId, string? TraceParent);

/// <summary>
/// The delivery queue in PostgreSQL: a notification's grain claims its due rows with FOR UPDATE SKIP LOCKED and a lease, sends
/// them outside any transaction, and their outcome recorded in a second short transaction. A process that dies between the two
/// leaves the claim to expire, and the delivery is sent again (at least once; the idempotency key lets the far side
/// recognise the repeat).
/// </summary>
internal static class DeliveryQueue
{
    private const string Due = "((send_status = 'queued' and next_attempt_at <= @now) or (send_status = 'sending' and claimed_until <= @now))";

    private const string Claim = $"""
        with due as (
            select id from notification_deliveries
            where notification_id = @notificationId and {Due}
            order by sequence
            for update skip locked
            limit @batch)
        update notification_deliveries d
        set send_status = 'sending', attempt_count = d.attempt_count + 1, claimed_until = @leaseUntil, claimed_by = @claimedBy, updated_at = @now
        from due where d.id = due.id
        returning d.id
        """;

    private const string Load = """
        select d.id, d.idempotency_key, d.attempt_count, d.transport_type_slug, d.agency_id, d.trace_parent, array_to_string(d.update_fields, ' and ') as update_fields,
               n.id as notification_id, n.notified_user_id as user_id, n.about_agency_id, n.alert_reason, a.name as about_name,
               d.incident_id, coalesce(i.agency_id, n.agency_id) as psap_agency_id, coalesce(i.priority, 'critical') as priority,
               coalesce(i.title, '') as title, coalesce(i.description, '') as description, i.address,
               u.email, trim(u.first_name || ' ' || u.last_name) as user_name,
               c.config::text as channel_config, p.config_override::text as override,
               n.command_connection_id as connection_id, cc.name as connection_name, cc.heartbeat_interval_seconds as heartbeat_interval,
               least(greatest(cc.last_seen_at, cc.heartbeat_set_at), n.created_at) as silent_since, n.created_at
        from notification_deliveries d
        join notifications n on n.id = d.notification_id
        left join incidents i on i.id = d.incident_id
        join users u on u.id = n.notified_user_id
        join transport_channels c on c.id = d.transport_channel_id
        left join user_transport_preferences p on p.id = d.preference_id
        left join agencies a on a.id = n.about_agency_id
        left join command_connections cc on cc.id = n.command_connection_id
        where d.id = any(@ids)
        """;

    // A PSAP alert's company people on this incident: by tier, with each channel and how it went.
    private const string AlertContacts = """
        select n.tier, trim(u.first_name || ' ' || u.last_name) as name, u.email, n.ack_status = 'acked' as acknowledged,
               c.name as channel, d.transport_type_slug as transport, d.send_status as status
        from notifications n
        join users u on u.id = n.notified_user_id
        left join notification_deliveries d on d.notification_id = n.id and d.update_fields is null
        left join transport_channels c on c.id = d.transport_channel_id
        where n.incident_id = @incidentId and n.agency_id = @companyId and n.kind = 'company'
        order by n.tier, n.created_at, n.id, d.sequence
        """;

    /// <summary>Claims the notification's due deliveries (queued and due, or a send whose lease ran out).</summary>
    /// <param name="claimedBy">The claiming silo (its parsable address): once the cluster declares it dead, its claims are released at once.</param>
    public static async Task<IReadOnlyList<ClaimedDelivery>> ClaimAsync(EngineScope scope, Guid notificationId, DateTimeOffset now, DeliveryOptions options,
        string claimedBy, Func<Guid, Guid, Guid, Uri?> ackUrl)
    {
        var ids = (await scope.QueryAsync<Guid>(Claim, new { notificationId, now, leaseUntil = now + options.ClaimLease, claimedBy, batch = options.BatchSize })).ToArray();
        if (ids.Length == 0) return [];
        return (await LoadAsync(scope, ids, claimedBy)).SelectMany(w => Materialize(w, scope.Cipher, ackUrl)).ToList();
    }

    /// <summary>
    /// In the transaction that queued them: claims the new deliveries of <paramref name="notificationIds"/> for the committing silo
    /// and loads what sending them takes, so each notification's grain gets its work in the call that follows the commit, with no
    /// claim of its own (the rows say who holds them: a death releases them).
    /// </summary>
    public static async Task<IReadOnlyList<NotificationWork>> ClaimQueuedAsync(StoreScope scope, IReadOnlyCollection<Guid> notificationIds, DateTimeOffset now,
        DeliveryOptions options, string claimedBy)
    {
        if (scope is not AgencyScope caller) return await ClaimAndLoadAsync(scope, notificationIds.ToArray(), now, options, claimedBy);
        // Under row-level security a PSAP cannot read its companies' people and channels: each company's deliveries are claimed and
        // read under that company's own context, one company at a time, as routing reads them. PSAP alerts (their message lists a
        // company's people) are left queued for their grains, which read them as the engine.
        var byAgency = (await scope.QueryAsync<(Guid AgencyId, Guid NotificationId)>("""
            select distinct d.agency_id, d.notification_id from notification_deliveries d join notifications n on n.id = d.notification_id
            where d.notification_id = any(@ids) and d.send_status = 'queued' and n.about_agency_id is null
            """, new { ids = notificationIds.ToArray() })).GroupBy(r => r.AgencyId);
        var work = new List<NotificationWork>();
        foreach (var agency in byAgency)
            work.AddRange(await caller.ReadAsAgencyAsync(agency.Key,
                () => ClaimAndLoadAsync(scope, agency.Select(r => r.NotificationId).ToArray(), now, options, claimedBy)));
        return work;
    }

    private static async Task<IReadOnlyList<NotificationWork>> ClaimAndLoadAsync(StoreScope scope, Guid[] notificationIds, DateTimeOffset now,
        DeliveryOptions options, string claimedBy)
    {
        var ids = (await scope.QueryAsync<Guid>("""
            update notification_deliveries
            set send_status = 'sending', attempt_count = attempt_count + 1, claimed_until = @leaseUntil, claimed_by = @claimedBy, updated_at = @now
            where notification_id = any(@notificationIds) and send_status = 'queued' and next_attempt_at <= @now
            returning id
            """, new { notificationIds, now, leaseUntil = now + options.ClaimLease, claimedBy })).ToArray();
        if (ids.Length == 0) return [];
        var work = await LoadAsync(scope, ids, claimedBy);
        var loaded = work.SelectMany(w => w.Rows).Select(r => r.Id).ToHashSet();
        if (ids.Any(id => !loaded.Contains(id)))
            // Never claim what cannot be handed over: a delivery this transaction could not read goes back to the queue for its grain.
            await scope.ExecuteAsync("""
                update notification_deliveries set send_status = 'queued', attempt_count = attempt_count - 1, claimed_until = null, claimed_by = null
                where id = any(@missing)
                """, new { missing = ids.Where(id => !loaded.Contains(id)).ToArray() });
        return work;
    }

    private static async Task<IReadOnlyList<NotificationWork>> LoadAsync(StoreScope scope, Guid[] ids, string claimedBy)
    {
        var rows = (await scope.QueryAsync<DeliveryRow>(Load, new { ids })).ToList();
        var work = new List<NotificationWork>();
        foreach (var notification in rows.GroupBy(r => r.NotificationId))
        {
            var first = notification.First();
            work.Add(new NotificationWork(notification.Key, claimedBy, notification.ToList(),
                first.AboutAgencyId is null ? null : await AlertAsync(scope, first)));
        }
        return work;
    }

    /// <summary>What sending the deliveries <paramref name="ids"/> takes, as a statement of a batch (rows: <see cref="DeliveryRow"/>).</summary>
    public static BatchStatement LoadStatement(Guid[] ids) => new(Load, new { ids }, typeof(DeliveryRow), "id");

    /// <summary>
    /// Hands deliveries a transaction wrote already claimed to their grains (<see cref="GrainWakes.Handed"/>): the loaded ones as
    /// work; any it could not read go back to the queue, and their grain is told to look.
    /// </summary>
    public static async Task HandAsync(StoreScope scope, IReadOnlyCollection<Guid> claimed, IReadOnlyList<DeliveryRow> loaded, string claimedBy)
    {
        foreach (var notification in loaded.GroupBy(r => r.NotificationId))
            scope.Wakes.Handed(new NotificationWork(notification.Key, claimedBy, notification.ToList(), null));
        var missing = claimed.Where(id => loaded.All(r => r.Id != id)).ToArray();
        if (missing.Length == 0) return;
        var notifications = await scope.QueryAsync<Guid>("""
            update notification_deliveries set send_status = 'queued', attempt_count = attempt_count - 1, claimed_until = null, claimed_by = null
            where id = any(@missing)
            returning notification_id
            """, new { missing });
        foreach (var id in notifications.Distinct()) scope.Wakes.Notification(id);
    }

    /// <summary>A notification's claimed deliveries, ready to send: encrypted fields decrypted here, in the grain that sends them.</summary>
    public static IReadOnlyList<ClaimedDelivery> Materialize(NotificationWork work, FieldCipher cipher, Func<Guid, Guid, Guid, Uri?> ackUrl) =>
        work.Rows.Select(r =>
        {
            var heartbeat = Heartbeat(r);
            return new ClaimedDelivery(
                new OutboundMessage(r.Id, r.IdempotencyKey, r.AttemptCount, r.IncidentId, r.NotificationId, r.Priority,
                    heartbeat?.Headline ?? (r.UpdateFields is { Length: > 0 } changed ? $"UPDATE ({changed} changed by the CAD): {r.Title}" : r.Title),
                    heartbeat?.Detail ?? r.Description,
                    cipher.DecryptText(r.Address, EncryptedColumns.IncidentAddress.Context),
                    string.IsNullOrWhiteSpace(r.UserName) ? r.Email : r.UserName, r.Email,
                    cipher.DecryptJsonObject(r.ChannelConfig, EncryptedColumns.ChannelConfig)!,
                    cipher.DecryptJsonObject(r.Override, EncryptedColumns.PreferenceConfigOverride),
                    heartbeat is null ? ackUrl(r.NotificationId, r.AgencyId, r.UserId) : null, work.Alert, heartbeat),
                r.TransportTypeSlug, r.AgencyId, r.PsapAgencyId, r.UserId, r.TraceParent);
        }).ToList();

    // A heartbeat alert (nothing to acknowledge): what it says is the connection's, as the row has it now.
    private static HeartbeatAlert? Heartbeat(DeliveryRow r) => r.ConnectionId is not { } connection ? null : new HeartbeatAlert(connection,
        r.ConnectionName ?? "command connection", r.AlertReason == Escalation.AlertReason.HeartbeatRecovered, r.HeartbeatInterval ?? 0,
        Time.Utc(r.SilentSince ?? r.CreatedAt), Time.Utc(r.CreatedAt));

    /// <summary>Moves claims made by another silo to <paramref name="claimedBy"/> (work handed to a grain that lives elsewhere); returns the deliveries still held.</summary>
    public static async Task<IReadOnlySet<Guid>> TakeOverAsync(EngineScope scope, NotificationWork work, string claimedBy, DateTimeOffset now) =>
        (await scope.QueryAsync<Guid>("""
            update notification_deliveries set claimed_by = @claimedBy, updated_at = @now
            where id = any(@ids) and send_status = 'sending' and claimed_by = @from
            returning id
            """, new { claimedBy, now, ids = work.Rows.Select(r => r.Id).ToArray(), from = work.ClaimedBy })).ToHashSet();

    private static async Task<PsapAlert> AlertAsync(StoreScope scope, DeliveryRow alert)
    {
        var rows = await scope.QueryAsync<ContactRow>(AlertContacts, new { incidentId = alert.IncidentId, companyId = alert.AboutAgencyId });
        var contacts = rows
            .GroupBy(c => (c.Tier, c.Name, c.Email, c.Acknowledged))
            .Select(g => new PsapAlert.Contact(g.Key.Tier, string.IsNullOrWhiteSpace(g.Key.Name) ? g.Key.Email : g.Key.Name, g.Key.Email,
                g.Key.Acknowledged,
                g.Where(c => c.Channel is not null).Select(c => new PsapAlert.ChannelTried(c.Channel!, c.Transport!, c.Status!)).ToList()))
            .ToList();
        return new PsapAlert(alert.AboutAgencyId!.Value, alert.AboutName ?? "The company", alert.AlertReason ?? Escalation.AlertReason.NotAcknowledged,
            contacts);
    }

    private sealed record ContactRow(int Tier, string Name, string Email, bool Acknowledged, string? Channel, string? Transport, string? Status);

    /// <summary>
    /// Records a send's outcome — sent, retried later, failed for good, or dead-lettered — with its log entry, and answers when the
    /// notification next has something due, leaving out the deliveries <paramref name="inFlight"/> in the grain's hands. The
    /// outcome, its log entry and the next due moment are one round trip (a failed link of a failover chain then hands over to
    /// the next, and the next due moment is asked again after it).
    /// </summary>
    public static async Task<(string Status, DateTime? NextDue)> CompleteAsync(EngineScope scope, ClaimedDelivery delivery, SendResult result,
        DateTimeOffset now, DeliveryOptions options, double jitter01, Guid[] inFlight)
    {
        var m = delivery.Message;
        var status = result.Outcome switch
        {
            SendOutcome.Sent => "sent",
            SendOutcome.Transient when m.Attempt < options.MaxAttempts => "queued",
            SendOutcome.Transient => "dead_lettered",
            _ => "failed",
        };
        var update = new BatchStatement($"""
            update notification_deliveries
            set send_status = @status, external_message_id = coalesce(@ExternalMessageId, external_message_id), last_error = @Error,
                next_attempt_at = @next, sent_at = case when @status = 'sent' then @now else sent_at end, claimed_until = null, claimed_by = null,
                version = version + 1, updated_at = @now
            where id = @DeliveryId and send_status = 'sending' and attempt_count = @Attempt
            returning {ChangedDelivery.Columns}
            """, new
        {
            status, result.ExternalMessageId, result.Error, next = status == "queued" ? now + options.RetryDelay(m.Attempt, jitter01) : (DateTimeOffset?)null,
            now, m.DeliveryId, m.Attempt,
        });
        // A heartbeat alert has no incident to tell or log on: its delivery row is its record. Otherwise the entry is written
        // only if the update applied (a superseded attempt logs nothing).
        if (m.IncidentId is { } incidentId)
            update = Communications.InsertReturning(scope.Cipher, new CommunicationEntry(incidentId, delivery.AgencyId,
                status == "sent" ? "notification" : "delivery_failure", "outbound",
                status == "sent" ? EmailContent(m) : $"Attempt {m.Attempt} failed: {result.Error}",
                new { delivery_id = m.DeliveryId, attempt = m.Attempt, outcome = status, error = result.Error, external_message_id = result.ExternalMessageId },
                m.NotificationId, m.DeliveryId, delivery.TransportSlug, ReceiverType: "user", ReceiverAgencyId: delivery.AgencyId, ReceiverUserId: delivery.UserId),
                update, ChangedDelivery.Columns);
        var written = await scope.BatchAsync([update with { RowType = typeof(ChangedDelivery), FirstColumn = "id" }, NextDueStatement(m.NotificationId, inFlight)]);
        var nextDue = written.Value<DateTime?>("next_due");
        if (written.RowsOf<ChangedDelivery>(0) is not [var updated]) return ("superseded", nextDue); // our claim expired and another attempt took over
        if (m.IncidentId is { } changed) scope.Wakes.DeliveryChanged(changed, updated.NotificationId, updated.ToView());
        if (status is not ("failed" or "dead_lettered")) return (status, nextDue);

        await FailOverAsync(scope, new Failed(m.IncidentId, m.NotificationId, m.DeliveryId, delivery.AgencyId, delivery.PsapAgencyId, m.RecipientName,
            result.Error, status), now);
        return (status, await NextDueAsync(scope, m.NotificationId, inFlight));
    }

    private sealed record Failed(Guid? IncidentId, Guid NotificationId, Guid DeliveryId, Guid AgencyId, Guid PsapAgencyId, string RecipientName,
        string? Error, string Status);

    /// <summary>
    /// A delivery that failed for good: the next channel of its failover chain is queued; with none left, the recipient is
    /// unreachable — logged, and the PSAP users the company's rule names are messaged.
    /// </summary>
    private static async Task FailOverAsync(EngineScope scope, Failed f, DateTimeOffset now)
    {
        var next = await scope.QuerySingleOrDefaultAsync<ChangedDelivery>($"""
            update notification_deliveries set send_status = 'queued', next_attempt_at = @now, updated_at = @now
            where id = (select id from notification_deliveries w
                        where notification_id = @NotificationId and send_status = 'waiting'
                          and w.update_fields is not distinct from (select update_fields from notification_deliveries where id = @DeliveryId)
                        order by sequence limit 1)
            returning {ChangedDelivery.Columns}
            """, new { now, f.NotificationId, f.DeliveryId });
        if (next is not null && f.IncidentId is { } changed) scope.Wakes.DeliveryChanged(changed, next.NotificationId, next.ToView());
        var stillTrying = await scope.ExecuteScalarAsync<bool>("""
            select exists (select 1 from notification_deliveries where notification_id = @NotificationId
                           and send_status in ('queued', 'sending', 'waiting', 'sent'))
            """, new { f.NotificationId });
        if (stillTrying) return;
        if (f.IncidentId is not { } incidentId) return; // a heartbeat alert that reached nobody: its failed rows say so, and nobody else is told
        await Communications.AppendAsync(scope, new CommunicationEntry(incidentId, f.PsapAgencyId, "psap_alert", "internal",
            $"{f.RecipientName} at company {f.AgencyId} could not be reached: every channel failed ({f.Error}).",
            new { notification_id = f.NotificationId, company_id = f.AgencyId, last_outcome = f.Status },
            f.NotificationId, ReceiverType: "agency", ReceiverAgencyId: f.PsapAgencyId));
        // A company's recipient is unreachable: the PSAP users its rule names are messaged (not for an alert to the PSAP itself) —
        // by the incident's grain, the one writer of its notifications, from the incident's inbox.
        if (f.AgencyId != f.PsapAgencyId) await Incidents.IncidentInbox.UnreachableAsync(scope, incidentId, f.PsapAgencyId, f.AgencyId);
    }

    /// <summary>
    /// A message the provider had accepted (<paramref name="externalMessageId"/>) that it reports it could not deliver (a carrier's
    /// refusal, a call nobody answered): the delivery becomes failed, and the notification fails over as if the send had failed.
    /// The report names its delivery (<paramref name="deliveryId"/>) and may come before the sender has recorded the provider's
    /// answer: a delivery still being sent is failed too (the sender's outcome then finds it superseded), so the report is never
    /// lost. Returns the notification, or null when no such delivery is sent or being sent (a report repeated, or about something else).
    /// </summary>
    public static async Task<Guid?> CarrierFailedAsync(EngineScope scope, string transportSlug, string externalMessageId, Guid? deliveryId, string error,
        DateTimeOffset now)
    {
        var failed = await scope.QuerySingleOrDefaultAsync<(Guid Id, Guid NotificationId, Guid? IncidentId, Guid AgencyId, Guid PsapAgencyId, string RecipientName, Guid UserId)>($"""
            update notification_deliveries d set send_status = 'failed', last_error = @error,
                external_message_id = coalesce(d.external_message_id, @externalMessageId), claimed_until = null, claimed_by = null,
                version = d.version + 1, updated_at = @now
            from notifications n left join incidents i on i.id = n.incident_id, users u
            where d.transport_type_slug = @transportSlug
              and case when cast(@deliveryId as uuid) is null then d.external_message_id = @externalMessageId and d.send_status = 'sent'
                       else d.id = @deliveryId and d.send_status in ('sending', 'sent')
                            and (d.external_message_id is null or d.external_message_id = @externalMessageId) end
              and n.id = d.notification_id and u.id = n.notified_user_id
            returning d.id, d.notification_id, d.incident_id, d.agency_id, coalesce(i.agency_id, n.agency_id) as psap_agency_id,
                      {Identity.Users.DisplayNameOfU} as recipient_name, u.id as user_id
            """, new { transportSlug, externalMessageId, deliveryId, error, now });
        if (failed.Id == Guid.Empty) return null;
        var view = (await scope.QuerySingleOrDefaultAsync<ChangedDelivery>($"select {ChangedDelivery.Columns} from notification_deliveries where id = @Id", new { failed.Id }))!;
        if (failed.IncidentId is { } incidentId)
        {
            scope.Wakes.DeliveryChanged(incidentId, failed.NotificationId, view.ToView());
            await Communications.AppendAsync(scope, new CommunicationEntry(incidentId, failed.AgencyId, "delivery_failure", "inbound",
                $"Reported undelivered: {error}", new { delivery_id = failed.Id, outcome = "failed", error, external_message_id = externalMessageId },
                failed.NotificationId, failed.Id, transportSlug, ReceiverType: "user", ReceiverAgencyId: failed.AgencyId, ReceiverUserId: failed.UserId));
        }
        await FailOverAsync(scope, new Failed(failed.IncidentId, failed.NotificationId, failed.Id, failed.AgencyId, failed.PsapAgencyId,
            failed.RecipientName, error, "failed"), now);
        return failed.NotificationId;
    }

    /// <summary>
    /// When the notification's next delivery falls due (a retry, or a send whose lease runs out), leaving out the deliveries
    /// <paramref name="inFlight"/> in this grain's hands; null when none is pending.
    /// </summary>
    public static async Task<DateTime?> NextDueAsync(EngineScope scope, Guid notificationId, Guid[] inFlight) =>
        (await scope.BatchAsync([NextDueStatement(notificationId, inFlight)])).Value<DateTime?>("next_due");

    private static BatchStatement NextDueStatement(Guid notificationId, Guid[] inFlight) => new("""
        select min(case when send_status = 'queued' then next_attempt_at else claimed_until end) as next_due from notification_deliveries
        where notification_id = @notificationId and send_status in ('queued', 'sending') and id <> all(@inFlight)
        """, new { notificationId, inFlight });

    public static Task<long> QueueDepthAsync(EngineScope scope) =>
        scope.ExecuteScalarAsync<long>("select count(*) from notification_deliveries where send_status in ('queued', 'sending')")!;

    private static string EmailContent(OutboundMessage m) => $"[{m.Priority}] {m.Title} to {m.RecipientEmail}: {m.Description}";

    /// <summary>A delivery as a send's outcome left it, for the incident's grain to update the copy it holds.</summary>
    private sealed record ChangedDelivery(Guid Id, Guid NotificationId, Guid TransportChannelId, string TransportTypeSlug, int Sequence, string SendStatus,
        int AttemptCount, string? ExternalMessageId, string? LastError, DateTime? NextAttemptAt, DateTime? SentAt)
    {
        public const string Columns = """
            id, notification_id, transport_channel_id, transport_type_slug, sequence, send_status, attempt_count, external_message_id, last_error,
            next_attempt_at, sent_at
            """;

        public Incidents.DeliveryView ToView() => new(Id, TransportChannelId, TransportTypeSlug, Sequence, SendStatus, AttemptCount, ExternalMessageId,
            LastError, Time.Utc(NextAttemptAt), Time.Utc(SentAt));
    }
}
