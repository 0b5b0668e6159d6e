using Dispatch.Grains.Storage;
using Npgsql;

namespace Dispatch.Grains.Identity;

public sealed record Agency(Guid Id, string Name, string Slug, string AgencyType, string Timezone, bool IsActive,
    DateTimeOffset CreatedAt, int Version);

public sealed record NewCompany(string Name, string Slug, string Timezone, NewUser Admin);

public sealed record AgencyChanges(string? Name, string? Timezone);

/// <summary>
/// Agencies visible to the scope: its own and those it is linked with. A PSAP onboards the companies it
/// works with (creating them, linked, with a first admin); it and they then manage themselves.
/// </summary>
public static class Agencies
{
    private const string Select = "select id, name, slug, agency_type, timezone, is_active, created_at, version from agencies";

    public static async Task<IReadOnlyList<Agency>> ListAsync(AgencyScope scope, long offset, int limit) =>
        (await scope.QueryAsync<AgencyRow>($"{Select} order by name, id offset @offset limit @limit", new { offset, limit }))
            .Select(r => r.ToAgency()).ToList();

    public static Task<long> CountAsync(AgencyScope scope) => scope.ExecuteScalarAsync<long>("select count(*) from agencies")!;

    public static async Task<Agency?> GetAsync(AgencyScope scope, Guid id) =>
        (await scope.QuerySingleOrDefaultAsync<AgencyRow>($"{Select} where id = @id", new { id }))?.ToAgency();

    /// <summary>Creates a company linked to the scope's PSAP, and its first admin, in the scope's transaction.</summary>
    public static async Task<(Agency Company, Guid AdminId)> OnboardCompanyAsync(AgencyScope scope, NewCompany company, DateTimeOffset now)
    {
        var id = Guid.CreateVersion7();
        try
        {
            await scope.ExecuteAsync("""
                insert into agencies (id, name, slug, agency_type, timezone, created_at, updated_at)
                values (@id, @Name, @Slug, 'company', @Timezone, @now, @now)
                """, new { id, company.Name, company.Slug, company.Timezone, now });
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new DuplicateException("That slug");
        }
        await scope.ExecuteAsync("insert into agency_links (psap_agency_id, company_agency_id, created_at) values (@psap, @id, @now)",
            new { psap = scope.Context.AgencyId, id, now });
        var created = (await GetAsync(scope, id))!;
        await scope.AuditAsync("agency.onboarded", "agency", id, null, created);
        var adminRole = await scope.ExecuteScalarAsync<Guid>("select id from roles where agency_id is null and slug = 'company-admin'");
        var adminId = await Users.CreateAsync(scope, id, company.Admin with { RoleId = adminRole }, now);
        return (created, adminId);
    }

    public static async Task<Agency?> UpdateAsync(AgencyScope scope, Guid id, AgencyChanges changes, DateTimeOffset now)
    {
        var before = await GetAsync(scope, id);
        if (before is null) return null;
        var changed = await scope.ExecuteAsync("""
            update agencies set name = coalesce(@Name, name), timezone = coalesce(@Timezone, timezone), version = version + 1, updated_at = @now
            where id = @id
            """, new { changes.Name, changes.Timezone, now, id });
        if (changed == 0) throw new UnauthorizedAccessException("Only the agency itself or the PSAP that onboarded it may change it.");
        var after = await GetAsync(scope, id);
        await scope.AuditAsync("agency.updated", "agency", id, before, after);
        return after;
    }

    /// <summary>Deactivates a company the scope's PSAP onboarded: its users can no longer log in or use keys.</summary>
    public static async Task<Agency?> DeactivateAsync(AgencyScope scope, Guid id, DateTimeOffset now)
    {
        var before = await GetAsync(scope, id);
        if (before is null) return null;
        if (id == scope.Context.AgencyId) throw new UnauthorizedAccessException("An agency cannot deactivate itself.");
        var changed = await scope.ExecuteAsync(
            "update agencies set is_active = false, version = version + 1, updated_at = @now where id = @id", new { now, id });
        if (changed == 0) throw new UnauthorizedAccessException("Only the PSAP that onboarded a company may deactivate it.");
        var after = await GetAsync(scope, id);
        await scope.AuditAsync("agency.deactivated", "agency", id, before, after);
        return after;
    }

    private sealed record AgencyRow(Guid Id, string Name, string Slug, string AgencyType, string Timezone, bool IsActive, DateTime CreatedAt, int Version)
    {
        public Agency ToAgency() => new(Id, Name, Slug, AgencyType, Timezone, IsActive, Time.Utc(CreatedAt), Version);
    }
}
