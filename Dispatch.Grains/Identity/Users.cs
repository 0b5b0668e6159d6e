using Dispatch.Grains.Storage;
using Microsoft.AspNetCore.Identity;
using Npgsql;

namespace Dispatch.Grains.Identity;

public sealed record User(Guid Id, Guid AgencyId, string Email, string FirstName, string LastName, Guid RoleId, string RoleSlug,
    bool IsActive, DateTimeOffset? LastLoginAt, DateTimeOffset CreatedAt, int Version);

public sealed record NewUser(string Email, string Password, string FirstName, string LastName, Guid RoleId);

public sealed record UserChanges(string? FirstName, string? LastName, Guid? RoleId, string? Password);

/// <summary>An email already held by another user (anywhere: emails are how people log in).</summary>
public sealed class DuplicateException(string what) : Exception($"{what} is already in use.");

/// <summary>A referenced row (role, channel, …) that does not exist or is not the caller's to use.</summary>
public sealed class UnknownReferenceException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}

/// <summary>Users of the scope's agency. Passwords are hashed with ASP.NET Core's PasswordHasher; hashes never leave this class.</summary>
public static class Users
{
    private static readonly PasswordHasher<object> Hasher = new();

    private const string Select = """
        select u.id, u.agency_id, u.email, u.first_name, u.last_name, u.role_id, r.slug as role_slug, u.is_active,
               u.last_login_at, u.created_at, u.version
        from users u join roles r on r.id = u.role_id
        """;

    /// <summary>A user's name as messages say it — first and last name, or the email when neither is set — for the user aliased <c>u</c>.</summary>
    internal const string DisplayNameOfU = "coalesce(nullif(trim(coalesce(u.first_name, '') || ' ' || coalesce(u.last_name, '')), ''), u.email)";

    public static string HashPassword(string password) => Hasher.HashPassword(new object(), password);

    public static bool VerifyPassword(string hash, string password) =>
        Hasher.VerifyHashedPassword(new object(), hash, password) != PasswordVerificationResult.Failed;

    /// <summary>A hash to verify against when the email is unknown, so both cases cost the same.</summary>
    public static string DummyHash { get; } = HashPassword(Secrets.NewToken());

    public static async Task<IReadOnlyList<User>> ListAsync(AgencyScope scope, long offset, int limit) =>
        (await scope.QueryAsync<UserRow>($"{Select} order by u.email offset @offset limit @limit", new { offset, limit })).Select(r => r.ToUser()).ToList();

    public static Task<long> CountAsync(AgencyScope scope) => scope.ExecuteScalarAsync<long>("select count(*) from users")!;

    public static async Task<User?> GetAsync(AgencyScope scope, Guid id) =>
        (await scope.QuerySingleOrDefaultAsync<UserRow>($"{Select} where u.id = @id", new { id }))?.ToUser();

    /// <summary>Creates a user of <paramref name="agencyId"/> (the scope's agency, or a company it onboards).</summary>
    public static async Task<Guid> CreateAsync(AgencyScope scope, Guid agencyId, NewUser user, DateTimeOffset now)
    {
        var agencyType = await scope.ExecuteScalarAsync<string>("select agency_type from agencies where id = @agencyId", new { agencyId });
        var roleOk = await scope.ExecuteScalarAsync<bool>("""
            select exists (select 1 from roles where id = @RoleId and (agency_id = @agencyId or (agency_id is null and agency_type = @agencyType)))
            """, new { user.RoleId, agencyId, agencyType });
        if (!roleOk) throw new UnknownReferenceException("roleId", "No such role for this agency.");

        var id = Guid.CreateVersion7();
        var email = user.Email.Trim().ToLowerInvariant();
        try
        {
            await scope.ExecuteAsync("""
                insert into users (id, agency_id, role_id, email, password_hash, first_name, last_name, created_at, updated_at)
                values (@id, @agencyId, @RoleId, @email, @hash, @FirstName, @LastName, @now, @now)
                """, new { id, agencyId, user.RoleId, email, hash = HashPassword(user.Password), user.FirstName, user.LastName, now });
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new DuplicateException("That email");
        }
        await scope.AuditAsync("user.created", "user", id, null,
            new { id, agency_id = agencyId, email, first_name = user.FirstName, last_name = user.LastName, role_id = user.RoleId });
        return id;
    }

    public static async Task<User?> UpdateAsync(AgencyScope scope, Guid id, UserChanges changes, DateTimeOffset now)
    {
        var before = await GetAsync(scope, id);
        if (before is null) return null;
        if (changes.RoleId is { } roleId && !await scope.ExecuteScalarAsync<bool>("""
                select exists (select 1 from roles r join agencies a on a.id = @AgencyId
                               where r.id = @roleId and (r.agency_id = a.id or (r.agency_id is null and r.agency_type = a.agency_type)))
                """, new { before.AgencyId, roleId }))
            throw new UnknownReferenceException("roleId", "No such role for this agency.");

        await scope.ExecuteAsync("""
            update users set first_name = coalesce(@FirstName, first_name), last_name = coalesce(@LastName, last_name),
                role_id = coalesce(@RoleId, role_id), password_hash = coalesce(@Hash, password_hash),
                version = version + 1, updated_at = @now
            where id = @id
            """, new { changes.FirstName, changes.LastName, changes.RoleId, Hash = changes.Password is null ? null : HashPassword(changes.Password), now, id });
        if (changes.Password is not null)
            await RefreshTokens.RevokeAllForUserAsync(scope, id, now);
        var after = await GetAsync(scope, id);
        await scope.AuditAsync(changes.Password is null ? "user.updated" : "user.password_changed", "user", id, before, after);
        return after;
    }

    /// <summary>Deactivates the user and revokes every refresh token they hold.</summary>
    public static async Task<User?> DeactivateAsync(AgencyScope scope, Guid id, DateTimeOffset now)
    {
        var before = await GetAsync(scope, id);
        if (before is null) return null;
        await scope.ExecuteAsync("update users set is_active = false, version = version + 1, updated_at = @now where id = @id", new { now, id });
        await RefreshTokens.RevokeAllForUserAsync(scope, id, now);
        var after = await GetAsync(scope, id);
        await scope.AuditAsync("user.deactivated", "user", id, before, after);
        return after;
    }

    public static Task RecordLoginAsync(AgencyScope scope, Guid id, DateTimeOffset now) =>
        scope.ExecuteAsync("update users set last_login_at = @now where id = @id", new { now, id });

    private sealed record UserRow(Guid Id, Guid AgencyId, string Email, string FirstName, string LastName, Guid RoleId, string RoleSlug,
        bool IsActive, DateTime? LastLoginAt, DateTime CreatedAt, int Version)
    {
        public User ToUser() => new(Id, AgencyId, Email, FirstName, LastName, RoleId, RoleSlug, IsActive, Time.Utc(LastLoginAt), Time.Utc(CreatedAt), Version);
    }
}
