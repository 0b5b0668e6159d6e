using Microsoft.AspNetCore.Http.HttpResults;
using Dispatch.Api.Http;
using Dispatch.Grains.Identity;

namespace Dispatch.Api.Identity;

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
