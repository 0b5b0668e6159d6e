using System.Text.Json;
using Dapper;
using Dispatch.Grains.Storage;

namespace Dispatch.Grains.Identity;

public sealed record LoginRecord(Guid UserId, Guid AgencyId, string AgencyType, string PasswordHash, bool IsActive,
    string RoleSlug, IReadOnlyList<string> Permissions);

public sealed record PrincipalRecord(Guid AgencyId, string AgencyType, string RoleSlug, IReadOnlyList<string> Permissions);

public sealed record CredentialRecord(string Kind, Guid Id, Guid AgencyId, string AgencyType, string KeyHash,
    IReadOnlyList<string> Scopes, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, bool IsActive);

public sealed record RefreshTokenRecord(Guid Id, Guid UserId, Guid AgencyId);

/// <summary>
/// Look-ups that precede any agency context — by email, by a secret's hash, by a key's prefix — through
/// the database's narrow security-definer functions, as the app role.
/// </summary>
public sealed class Credentials(DispatchDatabase database)
{
    public const string ApiKeyKind = "api_key";
    public const string CommandConnectionKind = "command_connection";

    public async Task<LoginRecord?> FindLoginAsync(string email)
    {
        await using var c = await database.App.OpenConnectionAsync();
        var row = await c.QuerySingleOrDefaultAsync<(Guid UserId, Guid AgencyId, string AgencyType, string PasswordHash, bool IsActive, string RoleSlug, string Permissions)>(
            "select user_id, agency_id, agency_type, password_hash, is_active, role_slug, permissions::text from dispatch_login_lookup(@email)",
            new { email = email.Trim() });
        return row.UserId == Guid.Empty ? null
            : new LoginRecord(row.UserId, row.AgencyId, row.AgencyType, row.PasswordHash, row.IsActive, row.RoleSlug, Strings(row.Permissions));
    }

    /// <summary>The user's current agency and permissions, or null when the user or agency is no longer active.</summary>
    public async Task<PrincipalRecord?> FindPrincipalAsync(Guid userId)
    {
        await using var c = await database.App.OpenConnectionAsync();
        var row = await c.QuerySingleOrDefaultAsync<(Guid AgencyId, string AgencyType, string RoleSlug, string Permissions)>(
            "select agency_id, agency_type, role_slug, permissions::text from dispatch_principal_lookup(@userId)", new { userId });
        return row.AgencyId == Guid.Empty ? null : new PrincipalRecord(row.AgencyId, row.AgencyType, row.RoleSlug, Strings(row.Permissions));
    }

    public async Task<CredentialRecord?> FindCredentialAsync(string prefix)
    {
        await using var c = await database.App.OpenConnectionAsync();
        var row = await c.QuerySingleOrDefaultAsync<CredentialRow>("""
            select kind, id, agency_id, agency_type, key_hash, scopes::text as scopes, expires_at, revoked_at, is_active
            from dispatch_credential_lookup(@prefix)
            """, new { prefix });
        return row is null ? null : new CredentialRecord(row.Kind, row.Id, row.AgencyId, row.AgencyType, row.KeyHash,
            row.Kind == CommandConnectionKind ? Permissions.CommandSystem : Strings(row.Scopes),
            Time.Utc(row.ExpiresAt), Time.Utc(row.RevokedAt), row.IsActive);
    }

    public async Task<RefreshTokenRecord?> FindRefreshTokenAsync(string token)
    {
        await using var c = await database.App.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<RefreshTokenRecord>(
            "select id, user_id, agency_id from dispatch_refresh_token_lookup(@hash)", new { hash = Secrets.Hash(token) });
    }

    public async Task TouchAsync(IReadOnlyCollection<Guid> apiKeyIds, IReadOnlyCollection<Guid> connectionIds, DateTimeOffset at)
    {
        await using var c = await database.App.OpenConnectionAsync();
        await c.ExecuteAsync("select dispatch_touch_credentials(@apiKeyIds, @connectionIds, @at)",
            new { apiKeyIds = apiKeyIds.ToArray(), connectionIds = connectionIds.ToArray(), at });
    }

    internal static IReadOnlyList<string> Strings(string? json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize<string[]>(json) ?? [];

    private sealed record CredentialRow(string Kind, Guid Id, Guid AgencyId, string AgencyType, string KeyHash, string Scopes,
        DateTime? ExpiresAt, DateTime? RevokedAt, bool IsActive);
}
