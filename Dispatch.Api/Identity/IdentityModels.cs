using Microsoft.AspNetCore.Http.HttpResults;
using Dispatch.Api.Http;
using Dispatch.Grains.Identity;

namespace Dispatch.Api.Identity;

public sealed record NewUserRequest(string? Email, string? Password, string? FirstName, string? LastName, Guid? RoleId)
{
    public Errors Validate(bool roleRequired = true)
    {
        var errors = new Errors()
            .Check(Email is not null && IsEmail(Email), "email", "email must be an email address.")
            .Check(!string.IsNullOrWhiteSpace(FirstName), "firstName", "firstName is required.")
            .Check(!string.IsNullOrWhiteSpace(LastName), "lastName", "lastName is required.")
            .Check(!roleRequired || RoleId is not null, "roleId", "roleId is required.");
        if (Password is null) errors.Add("password", "password is required.");
        else if (PasswordPolicy.Check(Password, Email ?? "") is { } problem) errors.Add("password", $"The password is too weak: {problem}.");
        return errors;
    }

    public NewUser ToNewUser() => new(Email!.Trim(), Password!, FirstName!.Trim(), LastName!.Trim(), RoleId ?? Guid.Empty);

    internal static bool IsEmail(string value) =>
        value.Length <= 254 && System.Net.Mail.MailAddress.TryCreate(value.Trim(), out var address) && address.Address == value.Trim();
}

public sealed record UpdateUserRequest(string? FirstName, string? LastName, Guid? RoleId, string? Password)
{
    public Errors Validate(string email)
    {
        var errors = new Errors()
            .Check(FirstName is null || FirstName.Trim().Length > 0, "firstName", "firstName cannot be blank.")
            .Check(LastName is null || LastName.Trim().Length > 0, "lastName", "lastName cannot be blank.");
        if (Password is not null && PasswordPolicy.Check(Password, email) is { } problem)
            errors.Add("password", $"The password is too weak: {problem}.");
        return errors;
    }
}

public sealed record NewCompanyRequest(string? Name, string? Slug, string? Timezone, NewUserRequest? Admin)
{
    public Errors Validate()
    {
        var errors = new Errors()
            .Check(!string.IsNullOrWhiteSpace(Name), "name", "name is required.")
            .Check(Slug is null || Endpoints.IsSlug(Slug), "slug", "slug is lower-case letters, digits and single dashes.")
            .Check(Timezone is null || IsTimezone(Timezone), "timezone", "timezone must be an IANA time zone such as America/Chicago.");
        if (Admin is null) errors.Add("admin", "admin (the company's first admin user) is required.");
        else
            foreach (var (field, messages) in Admin.Validate(roleRequired: false).ToDictionary())
                foreach (var message in messages) errors.Add("admin." + field, message);
        return errors;
    }

    public NewCompany ToNewCompany() =>
        new(Name!.Trim(), Slug ?? Bootstrapper.Slugify(Name!), Timezone ?? "UTC", Admin!.ToNewUser());

    internal static bool IsTimezone(string zone) =>
        zone.Contains('/') || zone == "UTC" ? TimeZoneInfo.TryFindSystemTimeZoneById(zone, out var tz) && tz.HasIanaId : false;
}

public sealed record UpdateAgencyRequest(string? Name, string? Timezone)
{
    public Errors Validate() => new Errors()
        .Check(Name is null || Name.Trim().Length > 0, "name", "name cannot be blank.")
        .Check(Timezone is null || NewCompanyRequest.IsTimezone(Timezone), "timezone", "timezone must be an IANA time zone such as America/Chicago.");
}

public sealed record OnboardedCompany(Agency Agency, Guid AdminUserId);

public sealed record RoleRequest(string? Name, string? Slug, IReadOnlyList<string>? Permissions)
{
    public Errors Validate(string agencyType, bool creating)
    {
        var allowed = Grains.Identity.Permissions.AllowedFor(agencyType);
        var errors = new Errors()
            .Check(!creating || !string.IsNullOrWhiteSpace(Name), "name", "name is required.")
            .Check(!creating || Endpoints.IsSlug(Slug), "slug", "slug is lower-case letters, digits and single dashes.")
            .Check(!creating || Permissions is not null, "permissions", "permissions is required (it may be empty).");
        foreach (var unknown in (Permissions ?? []).Where(p => !allowed.Contains(p)))
            errors.Add("permissions", $"'{unknown}' is not a permission an agency of type {agencyType} can grant.");
        return errors;
    }
}

public sealed record NewApiKeyRequest(string? Name, IReadOnlyList<string>? Scopes, DateTimeOffset? ExpiresAt)
{
    public Errors Validate(IReadOnlySet<string> callerPermissions, DateTimeOffset now)
    {
        var errors = new Errors()
            .Check(!string.IsNullOrWhiteSpace(Name), "name", "name is required.")
            .Check(Scopes is { Count: > 0 }, "scopes", "scopes lists the permissions the key carries (at least one).")
            .Check(ExpiresAt is null || ExpiresAt > now, "expiresAt", "expiresAt must be in the future.");
        foreach (var scope in (Scopes ?? []).Where(s => !callerPermissions.Contains(s)))
            errors.Add("scopes", $"'{scope}' is not a permission you hold, so a key you make cannot carry it.");
        return errors;
    }
}

/// <summary>The only response that ever holds the key.</summary>
public sealed record CreatedApiKey(ApiKey ApiKey, string Key);

public sealed record CommandConnectionRequest(string? Name, string? AckMode, string? PublicUrl)
{
    public Errors Validate(bool creating, bool development)
    {
        var errors = new Errors()
            .Check(!creating || !string.IsNullOrWhiteSpace(Name), "name", "name is required.")
            .Check(AckMode is null || Grains.Identity.AckMode.IsValid(AckMode), "ackMode", "ackMode is poll or callback.")
            .Check(!creating || AckMode != Grains.Identity.AckMode.Callback || PublicUrl is not null, "publicUrl",
                "publicUrl is required for callbacks.");
        if (PublicUrl is not null && !IsCallbackUrl(PublicUrl, development))
            errors.Add("publicUrl", development
                ? "publicUrl must be an absolute https URL (or http on a loopback address in development)."
                : "publicUrl must be an absolute https URL.");
        return errors;
    }

    /// <summary>A 400 when the outbound policy refuses the callback URL's destination.</summary>
    public async Task<ValidationProblem?> CheckDestinationAsync(Grains.Transports.OutboundPolicy outbound) =>
        PublicUrl is not null && await outbound.CheckUrlAsync(new Uri(PublicUrl)) is { } refusal
            ? TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["publicUrl"] = [$"The URL is refused: {refusal}"] })
            : null;

    private static bool IsCallbackUrl(string value, bool development) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && string.IsNullOrEmpty(uri.UserInfo) &&
        (uri.Scheme == Uri.UriSchemeHttps || (development && uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback));
}

/// <summary>The only response that ever holds the connection's key and callback secret.</summary>
public sealed record CreatedCommandConnection(CommandConnection Connection, string ApiKey, string CallbackSecret);
