using System.Security.Claims;
using System.Text.Encodings.Web;
using Dispatch.Grains.Identity;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Dispatch.Api.Auth;

/// <summary><c>Authorization: ApiKey dsp_…</c>: an agency's API key (its scopes are its permissions) or a command connection's key.</summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    Credentials credentials, CredentialUsage usage, TimeProvider time)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith(SchemeName + " ", StringComparison.OrdinalIgnoreCase))
            return AuthenticateResult.NoResult();
        var key = header[(SchemeName.Length + 1)..].Trim();
        var prefix = Secrets.PrefixOf(key);
        if (prefix is null) return AuthenticateResult.Fail("Malformed API key.");

        var credential = await credentials.FindCredentialAsync(prefix);
        if (credential is null || !Secrets.HashMatches(key, credential.KeyHash))
            return AuthenticateResult.Fail("Unknown API key.");
        if (credential.RevokedAt is not null || !credential.IsActive)
            return AuthenticateResult.Fail("Revoked API key.");
        if (credential.ExpiresAt is { } expires && expires <= time.GetUtcNow())
            return AuthenticateResult.Fail("Expired API key.");

        usage.Record(credential.Kind, credential.Id);
        var identity = Caller.Identity(SchemeName, credential.Kind, credential.Id.ToString(), credential.AgencyId, credential.AgencyType,
            credential.Scopes);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }
}
