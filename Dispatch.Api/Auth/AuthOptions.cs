using Microsoft.IdentityModel.Tokens;

namespace Dispatch.Api.Auth;

/// <summary><c>Dispatch:Auth</c>: how access tokens are signed and how long credentials live.</summary>
public sealed class AuthOptions
{
    public const string Section = "Dispatch:Auth";

    /// <summary>Base64 of at least 32 random bytes (HMAC-SHA256); or <see cref="SigningKeyFile"/> holding it.</summary>
    public string? SigningKey { get; set; }
    public string? SigningKeyFile { get; set; }
    public string Issuer { get; set; } = "dispatch";
    public string Audience { get; set; } = "dispatch-api";
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(14);

    /// <summary>Failed logins allowed per account, and per client address, within <see cref="ThrottleWindow"/>.</summary>
    public int MaxFailuresPerAccount { get; set; } = 5;
    public int MaxFailuresPerAddress { get; set; } = 20;
    public TimeSpan ThrottleWindow { get; set; } = TimeSpan.FromMinutes(15);

    public SymmetricSecurityKey Key()
    {
        var bytes = Grains.Identity.SigningKey.Read(SigningKey, SigningKeyFile) ?? throw new InvalidOperationException(
            "No token signing key: set Dispatch__Auth__SigningKey (base64 of 32+ random bytes) or Dispatch__Auth__SigningKeyFile. The AppHost generates one.");
        if (bytes.Length < 32) throw new InvalidOperationException("Dispatch:Auth:SigningKey must be at least 32 bytes.");
        return new SymmetricSecurityKey(bytes) { KeyId = "dispatch" };
    }
}
