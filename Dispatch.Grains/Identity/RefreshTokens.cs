using Dispatch.Grains.Storage;

namespace Dispatch.Grains.Identity;

public enum RefreshOutcome { Rotated, Reused, Expired, Inactive }

/// <summary>
/// Opaque refresh tokens stored as hashes, rotated on every use. Presenting one that was already
/// rotated means it was copied: the whole family is revoked (theft detection).
/// </summary>
public static class RefreshTokens
{
    private const string Insert = """
        insert into jwt_refresh_tokens (id, user_id, token_hash, family_id, expires_at, created_at)
        values (@Id, @UserId, @Hash, @FamilyId, @ExpiresAt, @Now)
        """;

    private const string Lock = """
        select t.family_id, t.expires_at, t.revoked_at, t.replaced_by_id, u.is_active
        from jwt_refresh_tokens t join users u on u.id = t.user_id
        where t.id = @Id for update of t
        """;

    private const string MarkRotated = "update jwt_refresh_tokens set revoked_at = @Now, replaced_by_id = @NewId where id = @Id";

    private const string RevokeFamily = "update jwt_refresh_tokens set revoked_at = @Now where family_id = @FamilyId and revoked_at is null";

    private const string RevokeUser = "update jwt_refresh_tokens set revoked_at = @Now where user_id = @UserId and revoked_at is null";

    public static async Task<string> IssueAsync(StoreScope scope, Guid userId, Guid? familyId, DateTimeOffset now, TimeSpan lifetime, Guid? id = null)
    {
        var token = Secrets.NewToken();
        await scope.ExecuteAsync(Insert, new
        {
            Id = id ?? Guid.CreateVersion7(), UserId = userId, Hash = Secrets.Hash(token), FamilyId = familyId ?? Guid.CreateVersion7(),
            ExpiresAt = now + lifetime, Now = now,
        });
        return token;
    }

    /// <summary>Spends the token <paramref name="tokenId"/> and issues its successor in the same family.</summary>
    public static async Task<(RefreshOutcome Outcome, string? Token)> RotateAsync(
        AgencyScope scope, Guid tokenId, Guid userId, DateTimeOffset now, TimeSpan lifetime)
    {
        var row = await scope.QuerySingleOrDefaultAsync<(Guid FamilyId, DateTime ExpiresAt, DateTime? RevokedAt, Guid? ReplacedById, bool IsActive)>(
            Lock, new { Id = tokenId });
        if (row.FamilyId == Guid.Empty) return (RefreshOutcome.Inactive, null);
        if (row.RevokedAt is not null || row.ReplacedById is not null)
        {
            await scope.ExecuteAsync(RevokeFamily, new { Now = now, row.FamilyId });
            await scope.AuditAsync("auth.refresh_token_reused", "user", userId, null, new { family_id = row.FamilyId });
            return (RefreshOutcome.Reused, null);
        }
        if (Time.Utc(row.ExpiresAt) <= now) return (RefreshOutcome.Expired, null);
        if (!row.IsActive) return (RefreshOutcome.Inactive, null);

        var newId = Guid.CreateVersion7();
        var token = await IssueAsync(scope, userId, row.FamilyId, now, lifetime, newId);
        await scope.ExecuteAsync(MarkRotated, new { Now = now, NewId = newId, Id = tokenId });
        return (RefreshOutcome.Rotated, token);
    }

    public static async Task RevokeFamilyOfAsync(AgencyScope scope, Guid tokenId, DateTimeOffset now)
    {
        var familyId = await scope.ExecuteScalarAsync<Guid?>("select family_id from jwt_refresh_tokens where id = @Id", new { Id = tokenId });
        if (familyId is not null)
            await scope.ExecuteAsync(RevokeFamily, new { Now = now, FamilyId = familyId });
    }

    public static Task RevokeAllForUserAsync(StoreScope scope, Guid userId, DateTimeOffset now) =>
        scope.ExecuteAsync(RevokeUser, new { Now = now, UserId = userId });
}
