using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;

namespace Dispatch.Grains.Identity;

public static class AckMode
{
    public const string Poll = "poll";
    public const string Callback = "callback";

    public static bool IsValid(string? mode) => mode is Poll or Callback;
}

public sealed record CommandConnection(Guid Id, Guid PsapAgencyId, string Name, string ApiKeyPrefix, string AckMode, string? PublicUrl,
    bool HasCallbackSecret, DateTimeOffset? LastSeenAt, bool IsActive, DateTimeOffset CreatedAt, int Version);

/// <summary>What is shown once when a connection is created: its API key, and the secret that signs its callbacks.</summary>
public sealed record CommandConnectionSecrets(string ApiKey, string CallbackSecret);

/// <summary>A PSAP's CAD systems: each with its own key, and acknowledgements by polling or by signed callbacks.</summary>
public static class CommandConnections
{
    private const string Select = """
        select id, psap_agency_id, name, api_key_prefix, ack_mode, public_url, callback_secret is not null as has_callback_secret,
               last_seen_at, is_active, created_at, version
        from command_connections
        """;

    public static async Task<(CommandConnection Connection, CommandConnectionSecrets Secrets)> CreateAsync(
        AgencyScope scope, string name, string ackMode, string? publicUrl, DateTimeOffset now)
    {
        var (key, prefix) = Identity.Secrets.NewApiKey();
        var callbackSecret = Identity.Secrets.NewToken();
        var id = Guid.CreateVersion7();
        await scope.ExecuteAsync("""
            insert into command_connections (id, psap_agency_id, name, api_key_hash, api_key_prefix, ack_mode, public_url, callback_secret,
                                             created_at, updated_at)
            values (@id, @psap, @name, @hash, @prefix, @ackMode, @publicUrl, @secret, @now, @now)
            """, new
        {
            id, psap = scope.Context.AgencyId, name, hash = Identity.Secrets.Hash(key), prefix, ackMode, publicUrl,
            secret = scope.Cipher.EncryptText(callbackSecret, EncryptedColumns.CallbackSecret.Context), now,
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
        DateTimeOffset now)
    {
        var before = await GetAsync(scope, id);
        if (before is null) return null;
        await scope.ExecuteAsync("""
            update command_connections set name = coalesce(@name, name), ack_mode = coalesce(@ackMode, ack_mode),
                public_url = coalesce(@publicUrl, public_url), version = version + 1, updated_at = @now
            where id = @id
            """, new { name, ackMode, publicUrl, now, id });
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
        bool HasCallbackSecret, DateTime? LastSeenAt, bool IsActive, DateTime CreatedAt, int Version)
    {
        public CommandConnection ToConnection() => new(Id, PsapAgencyId, Name, ApiKeyPrefix, AckMode, PublicUrl, HasCallbackSecret,
            Time.Utc(LastSeenAt), IsActive, Time.Utc(CreatedAt), Version);
    }
}
