using Dispatch.Grains.Storage;

namespace Dispatch.Grains.Identity;

public sealed record ApiKey(Guid Id, Guid AgencyId, string Name, string KeyPrefix, IReadOnlyList<string> Scopes,
    DateTimeOffset? LastUsedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, DateTimeOffset CreatedAt);

/// <summary>An agency's API keys: the key itself exists only in the create response; the store keeps its prefix and hash.</summary>
public static class ApiKeys
{
    private const string Select = """
        select id, agency_id, name, key_prefix, scopes::text as scopes, last_used_at, expires_at, revoked_at, created_at from api_keys
        """;

    public static async Task<(ApiKey Key, string Secret)> CreateAsync(AgencyScope scope, string name, IReadOnlyList<string> scopes,
        DateTimeOffset? expiresAt, DateTimeOffset now)
    {
        var (secret, prefix) = Secrets.NewApiKey();
        var id = Guid.CreateVersion7();
        await scope.ExecuteAsync("""
            insert into api_keys (id, agency_id, name, key_hash, key_prefix, scopes, expires_at, created_by_user_id, created_at)
            values (@id, @agency, @name, @hash, @prefix, @scopes::jsonb, @expiresAt, @user, @now)
            """, new
        {
            id, agency = scope.Context.AgencyId, name, hash = Secrets.Hash(secret), prefix,
            scopes = System.Text.Json.JsonSerializer.Serialize(scopes.Distinct().Order()), expiresAt, user = scope.Context.UserId, now,
        });
        var key = (await GetAsync(scope, id))!;
        await scope.AuditAsync("api_key.created", "api_key", id, null, key);
        return (key, secret);
    }

    public static async Task<IReadOnlyList<ApiKey>> ListAsync(AgencyScope scope) =>
        (await scope.QueryAsync<ApiKeyRow>($"{Select} order by created_at desc")).Select(r => r.ToKey()).ToList();

    public static async Task<ApiKey?> GetAsync(AgencyScope scope, Guid id) =>
        (await scope.QuerySingleOrDefaultAsync<ApiKeyRow>($"{Select} where id = @id", new { id }))?.ToKey();

    public static async Task<ApiKey?> RevokeAsync(AgencyScope scope, Guid id, DateTimeOffset now)
    {
        var before = await GetAsync(scope, id);
        if (before is null) return null;
        await scope.ExecuteAsync("update api_keys set revoked_at = coalesce(revoked_at, @now) where id = @id", new { now, id });
        var after = await GetAsync(scope, id);
        await scope.AuditAsync("api_key.revoked", "api_key", id, before, after);
        return after;
    }

    private sealed record ApiKeyRow(Guid Id, Guid AgencyId, string Name, string KeyPrefix, string Scopes,
        DateTime? LastUsedAt, DateTime? ExpiresAt, DateTime? RevokedAt, DateTime CreatedAt)
    {
        public ApiKey ToKey() => new(Id, AgencyId, Name, KeyPrefix, Credentials.Strings(Scopes),
            Time.Utc(LastUsedAt), Time.Utc(ExpiresAt), Time.Utc(RevokedAt), Time.Utc(CreatedAt));
    }
}
