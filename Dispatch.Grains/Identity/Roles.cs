using Dispatch.Grains.Storage;
using Npgsql;

namespace Dispatch.Grains.Identity;

public sealed record Role(Guid Id, Guid? AgencyId, string Name, string Slug, IReadOnlyList<string> Permissions, bool IsBuiltin);

/// <summary>The built-in roles of the scope's agency type and the agency's own custom roles.</summary>
public static class Roles
{
    private const string Select = """
        select r.id, r.agency_id, r.name, r.slug, r.permissions::text as permissions, r.is_builtin
        from roles r join agencies a on a.id = dispatch_agency_id()
        where (r.agency_id = a.id or (r.agency_id is null and r.agency_type = a.agency_type))
        """;

    public static async Task<IReadOnlyList<Role>> ListAsync(AgencyScope scope) =>
        (await scope.QueryAsync<RoleRow>($"{Select} order by r.is_builtin desc, r.name")).Select(r => r.ToRole()).ToList();

    public static async Task<Role?> GetAsync(AgencyScope scope, Guid id) =>
        (await scope.QuerySingleOrDefaultAsync<RoleRow>($"{Select} and r.id = @id", new { id }))?.ToRole();

    public static async Task<Role> CreateAsync(AgencyScope scope, string name, string slug, IReadOnlyList<string> permissions, DateTimeOffset now)
    {
        var id = Guid.CreateVersion7();
        try
        {
            await scope.ExecuteAsync("""
                insert into roles (id, agency_id, name, slug, permissions, created_at, updated_at)
                values (@id, @agency, @name, @slug, @permissions::jsonb, @now, @now)
                """, new { id, agency = scope.Context.AgencyId, name, slug, permissions = Json(permissions), now });
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new DuplicateException("That role slug");
        }
        var created = (await GetAsync(scope, id))!;
        await scope.AuditAsync("role.created", "role", id, null, created);
        return created;
    }

    /// <summary>Changes a custom role of the scope's agency; null when there is none with that id.</summary>
    public static async Task<Role?> UpdateAsync(AgencyScope scope, Guid id, string? name, IReadOnlyList<string>? permissions, DateTimeOffset now)
    {
        var before = await GetAsync(scope, id);
        if (before is null || before.IsBuiltin) return null;
        await scope.ExecuteAsync("""
            update roles set name = coalesce(@name, name), permissions = coalesce(@permissions::jsonb, permissions), updated_at = @now
            where id = @id
            """, new { name, permissions = permissions is null ? null : Json(permissions), now, id });
        var after = await GetAsync(scope, id);
        await scope.AuditAsync("role.updated", "role", id, before, after);
        return after;
    }

    /// <returns>false when the role is still held by a user.</returns>
    public static async Task<bool?> DeleteAsync(AgencyScope scope, Guid id)
    {
        var before = await GetAsync(scope, id);
        if (before is null || before.IsBuiltin) return null;
        if (await scope.ExecuteScalarAsync<bool>("select exists (select 1 from users where role_id = @id)", new { id }))
            return false;
        await scope.ExecuteAsync("delete from roles where id = @id", new { id });
        await scope.AuditAsync("role.deleted", "role", id, before, null);
        return true;
    }

    private static string Json(IReadOnlyList<string> permissions) => System.Text.Json.JsonSerializer.Serialize(permissions.Distinct().Order());

    private sealed record RoleRow(Guid Id, Guid? AgencyId, string Name, string Slug, string Permissions, bool IsBuiltin)
    {
        public Role ToRole() => new(Id, AgencyId, Name, Slug, Credentials.Strings(Permissions), IsBuiltin);
    }
}
