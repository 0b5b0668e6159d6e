using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;

namespace Dispatch.Grains.Identity;

public static class AckMode
{
    public const string Poll = "poll";
    public const string Callback = "callback";

    public static bool IsValid(string? mode) => mode is Poll or Callback;
}

/// <param name="HeartbeatIntervalSeconds">How often it promises to be heard from (a heartbeat or any call); null: not watched.</param>
/// <param name="NotifyPsapUserIds">The PSAP's users alerted when it goes silent, and when it is heard from again.</param>
/// <param name="HeartbeatStatus"><c>off</c>, <c>ok</c>, or <c>silent</c> (an outage declared at <paramref name="SilentSince"/>… since the last contact).</param>
public sealed record CommandConnection(Guid Id, Guid PsapAgencyId, string Name, string ApiKeyPrefix, string AckMode, string? PublicUrl,
    bool HasCallbackSecret, DateTimeOffset? LastSeenAt, bool IsActive, DateTimeOffset CreatedAt, int Version, int? HeartbeatIntervalSeconds,
    IReadOnlyList<Guid> NotifyPsapUserIds, string HeartbeatStatus, DateTimeOffset? SilentSince);

/// <summary>A connection's heartbeat settings as asked for: null leaves one as it is; an interval of 0 turns the watch off.</summary>
public sealed record HeartbeatSettings(int? IntervalSeconds, IReadOnlyList<Guid>? NotifyPsapUserIds);

/// <summary>What is shown once when a connection is created: its API key, and the secret that signs its callbacks.</summary>
public sealed record CommandConnectionSecrets(string ApiKey, string CallbackSecret);

/// <summary>A PSAP's CAD systems: each with its own key, and acknowledgements by polling or by signed callbacks.</summary>
public static class CommandConnections
{
    private const string Select = $"""
        select id, psap_agency_id, name, api_key_prefix, ack_mode, public_url, callback_secret is not null as has_callback_secret,
               last_seen_at, is_active, created_at, version, heartbeat_interval_seconds, notify_psap_user_ids::text as notify_psap_user_ids,
               case when heartbeat_interval_seconds is null or not is_active then 'off' when heartbeat_outage_at is null then 'ok' else 'silent' end
                   as heartbeat_status,
               case when heartbeat_outage_at is not null then {Commands.Heartbeats.QuietSince} end as silent_since
        from command_connections
        """;

    /// <summary>How many of <paramref name="userIds"/> are active users of the scope's own agency (the PSAP).</summary>
    public static Task<int> CountOwnUsersAsync(AgencyScope scope, IReadOnlyList<Guid> userIds) => scope.ExecuteScalarAsync<int>(
        "select count(*)::int from users where id = any(@ids) and agency_id = @agency and is_active",
        new { ids = userIds.Distinct().ToArray(), agency = scope.Context.AgencyId });

    public static async Task<(CommandConnection Connection, CommandConnectionSecrets Secrets)> CreateAsync(
        AgencyScope scope, string name, string ackMode, string? publicUrl, HeartbeatSettings heartbeat, DateTimeOffset now)
    {
        var (key, prefix) = Identity.Secrets.NewApiKey();
        var callbackSecret = Identity.Secrets.NewToken();
        var id = Guid.CreateVersion7();
        await scope.ExecuteAsync("""
            insert into command_connections (id, psap_agency_id, name, api_key_hash, api_key_prefix, ack_mode, public_url, callback_secret,
                                             heartbeat_interval_seconds, heartbeat_set_at, notify_psap_user_ids, created_at, updated_at)
            values (@id, @psap, @name, @hash, @prefix, @ackMode, @publicUrl, @secret, @interval, case when @interval is null then null else @now end,
                    cast(@notify as jsonb), @now, @now)
            """, new
        {
            id, psap = scope.Context.AgencyId, name, hash = Identity.Secrets.Hash(key), prefix, ackMode, publicUrl,
            secret = scope.Cipher.EncryptText(callbackSecret, EncryptedColumns.CallbackSecret.Context),
            interval = heartbeat.IntervalSeconds is null or 0 ? null : heartbeat.IntervalSeconds,
            notify = System.Text.Json.JsonSerializer.Serialize(heartbeat.NotifyPsapUserIds?.Distinct() ?? []), now,
        });
        var connection = (await GetAsync(scope, id))!;
        await scope.AuditAsync("command_connection.created", "command_connection", id, null, connection);
        return (connection, new CommandConnectionSecrets(key, callbackSecret));
    }

    public static async Task<IReadOnlyList<CommandConnection>> ListAsync(AgencyScope scope) =>
        (await scope.QueryAsync<Row>($"{Select} order by created_at desc")).Select(r => r.ToConnection()).ToList();

    public static async Task<CommandConnection?> GetAsync(AgencyScope scope, Guid id) =>
        (await scope.QuerySingleOrDefaultAsync<Row>($"{Select} where id = @id", new { id }))?.ToConnection();

    public static async Task<CommandConnection?> UpdateAsync(AgencyScope scope, Guid id, string? name, string? ackMode, string? publicUrl,
        HeartbeatSettings heartbeat, DateTimeOffset now)
    {
        var before = await GetAsync(scope, id);
        if (before is null) return null;
        // A new interval starts the watch afresh from now; 0 ends it (and any outage with it).
        await scope.ExecuteAsync("""
            update command_connections set name = coalesce(@name, name), ack_mode = coalesce(@ackMode, ack_mode),
                public_url = coalesce(@publicUrl, public_url),
                heartbeat_interval_seconds = case when @interval is null then heartbeat_interval_seconds when @interval = 0 then null else @interval end,
                heartbeat_set_at = case when @interval is null then heartbeat_set_at when @interval = 0 then null
                                        when @interval is not distinct from heartbeat_interval_seconds then heartbeat_set_at else @now end,
                heartbeat_outage_at = case when @interval = 0 then null else heartbeat_outage_at end,
                notify_psap_user_ids = coalesce(cast(@notify as jsonb), notify_psap_user_ids),
                version = version + 1, updated_at = @now
            where id = @id
            """, new
        {
            name, ackMode, publicUrl, now, id, interval = heartbeat.IntervalSeconds,
            notify = heartbeat.NotifyPsapUserIds is null ? null : System.Text.Json.JsonSerializer.Serialize(heartbeat.NotifyPsapUserIds.Distinct()),
        });
        var after = await GetAsync(scope, id);
        await scope.AuditAsync("command_connection.updated", "command_connection", id, before, after);
        return after;
    }

    public static async Task<CommandConnection?> DeactivateAsync(AgencyScope scope, Guid id, DateTimeOffset now)
    {
        var before = await GetAsync(scope, id);
        if (before is null) return null;
        await scope.ExecuteAsync("update command_connections set is_active = false, version = version + 1, updated_at = @now where id = @id",
            new { now, id });
        var after = await GetAsync(scope, id);
        await scope.AuditAsync("command_connection.deactivated", "command_connection", id, before, after);
        return after;
    }

    private sealed record Row(Guid Id, Guid PsapAgencyId, string Name, string ApiKeyPrefix, string AckMode, string? PublicUrl,
        bool HasCallbackSecret, DateTime? LastSeenAt, bool IsActive, DateTime CreatedAt, int Version, int? HeartbeatIntervalSeconds,
        string NotifyPsapUserIds, string HeartbeatStatus, DateTime? SilentSince)
    {
        public CommandConnection ToConnection() => new(Id, PsapAgencyId, Name, ApiKeyPrefix, AckMode, PublicUrl, HasCallbackSecret,
            Time.Utc(LastSeenAt), IsActive, Time.Utc(CreatedAt), Version, HeartbeatIntervalSeconds,
            System.Text.Json.JsonSerializer.Deserialize<List<Guid>>(NotifyPsapUserIds) ?? [], HeartbeatStatus, Time.Utc(SilentSince));
    }
}
