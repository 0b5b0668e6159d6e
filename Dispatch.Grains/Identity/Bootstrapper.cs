using System.Text.RegularExpressions;
using Dapper;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Dispatch.Grains.Storage;

namespace Dispatch.Grains.Identity;

/// <summary>What a host applies to an empty database: the first PSAP agency and its admin.</summary>
public sealed class BootstrapOptions
{
    public const string Section = "Dispatch:Bootstrap";

    public string? AgencyName { get; set; }
    public string? AgencySlug { get; set; }
    public string Timezone { get; set; } = "UTC";
    public string? AdminEmail { get; set; }
    public string? AdminPassword { get; set; }

    public bool IsConfigured =>
        !string.IsNullOrWhiteSpace(AgencyName) && !string.IsNullOrWhiteSpace(AdminEmail) && !string.IsNullOrEmpty(AdminPassword);
}

public sealed record BootstrapUser(Guid Id, string Email);

/// <summary>Creates the first PSAP agency and its admin when, and only when, the database has no agency.</summary>
public sealed partial class Bootstrapper(DispatchDatabase database, IOptions<BootstrapOptions> options, ILogger<Bootstrapper> logger)
{
    private const long AdvisoryLockKey = 0x44495350424f4f54; // "DISPBOOT"

    private const string InsertAgency = """
        insert into agencies (name, slug, agency_type, timezone) values (@Name, @Slug, 'psap', @Timezone) returning id
        """;

    private const string InsertAdmin = """
        insert into users (agency_id, role_id, email, password_hash, first_name, last_name)
        select @AgencyId, r.id, @Email, @PasswordHash, 'Bootstrap', 'Admin'
        from roles r where r.agency_id is null and r.slug = 'psap-admin'
        returning id
        """;

    /// <returns>The admin created, or null when bootstrap is not configured or the database already has agencies.</returns>
    public async Task<BootstrapUser?> BootstrapAsync(CancellationToken cancellationToken = default)
    {
        var settings = options.Value;
        if (!settings.IsConfigured)
            return null;

        await using var connection = await database.Owner.OpenConnectionAsync(cancellationToken);
        // A database with agencies needs nothing: hosts starting together see it without queueing for the lock.
        if (await connection.ExecuteScalarAsync<bool>("select exists (select 1 from agencies)"))
            return null;
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync("select pg_advisory_xact_lock(@key)", new { key = AdvisoryLockKey }, transaction);
        if (await connection.ExecuteScalarAsync<bool>("select exists (select 1 from agencies)", transaction: transaction))
            return null;

        var email = settings.AdminEmail!.Trim().ToLowerInvariant();
        var problem = PasswordPolicy.Check(settings.AdminPassword!, email);
        if (problem is not null)
            throw new InvalidOperationException($"Dispatch:Bootstrap:AdminPassword is not acceptable: {problem}");
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(settings.Timezone, out _))
            throw new InvalidOperationException($"Dispatch:Bootstrap:Timezone '{settings.Timezone}' is not a known IANA time zone.");

        var agencyName = settings.AgencyName!.Trim();
        var agencyId = await connection.ExecuteScalarAsync<Guid>(InsertAgency, new
        {
            Name = agencyName,
            Slug = string.IsNullOrWhiteSpace(settings.AgencySlug) ? Slugify(agencyName) : settings.AgencySlug,
            settings.Timezone,
        }, transaction);
        var hash = new PasswordHasher<BootstrapUser>().HashPassword(new BootstrapUser(Guid.Empty, email), settings.AdminPassword!);
        var userId = await connection.ExecuteScalarAsync<Guid>(InsertAdmin,
            new { AgencyId = agencyId, Email = email, PasswordHash = hash }, transaction);
        await transaction.CommitAsync(cancellationToken);

        logger.LogInformation("Bootstrapped PSAP agency {AgencyId} with its first admin {UserId}", agencyId, userId);
        return new BootstrapUser(userId, email);
    }

    public static string Slugify(string name)
    {
        var slug = NonSlugRun().Replace(name.ToLowerInvariant(), "-").Trim('-');
        return slug.Length == 0 ? "agency" : slug;
    }

    [GeneratedRegex("[^a-z0-9]+")]
    private static partial Regex NonSlugRun();
}
