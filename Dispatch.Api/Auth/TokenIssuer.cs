using System.Security.Claims;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Dispatch.Api.Auth;

/// <summary>Short-lived HMAC-SHA256 JWT access tokens naming the user; what they may do is looked up on every request.</summary>
public sealed class TokenIssuer(IOptions<AuthOptions> options, TimeProvider time)
{
    private readonly Lazy<SymmetricSecurityKey> _key = new(() => options.Value.Key());

    public SymmetricSecurityKey Key => _key.Value;

    public (string Token, int ExpiresIn) Issue(Guid userId, Guid agencyId)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var lifetime = options.Value.AccessTokenLifetime;
        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = options.Value.Issuer,
            Audience = options.Value.Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            Subject = new ClaimsIdentity([
                new Claim(Caller.UserIdClaim, userId.ToString()),
                new Claim(Caller.AgencyIdClaim, agencyId.ToString()),
                new Claim(JwtRegisteredClaimNames.Jti, Guid.NewGuid().ToString("N")),
            ]),
            SigningCredentials = new SigningCredentials(Key, SecurityAlgorithms.HmacSha256),
        });
        return (token, (int)lifetime.TotalSeconds);
    }
}
