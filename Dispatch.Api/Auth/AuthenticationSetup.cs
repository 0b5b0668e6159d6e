using System.Security.Claims;
using Dispatch.Grains.Identity;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Dispatch.Api.Auth;

public static class AuthenticationSetup
{
    private const string SelectorScheme = "Dispatch";

    /// <summary>Bearer JWTs for people, ApiKey for systems, one authorization policy per permission.</summary>
    public static WebApplicationBuilder AddDispatchAuth(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section);
        builder.Services.AddSingleton<TokenIssuer>();
        builder.Services.AddSingleton<LoginThrottle>();
        builder.Services.AddSingleton<Credentials>();
        builder.Services.AddSingleton<CredentialUsage>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<CredentialUsage>());
        builder.Services.AddSingleton<PrincipalCache>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PrincipalCache>());

        builder.Services.AddAuthentication(SelectorScheme)
            .AddPolicyScheme(SelectorScheme, "Bearer or ApiKey", o => o.ForwardDefaultSelector = context =>
                context.Request.Headers.Authorization.ToString().StartsWith(ApiKeyAuthenticationHandler.SchemeName + " ", StringComparison.OrdinalIgnoreCase)
                    ? ApiKeyAuthenticationHandler.SchemeName
                    : JwtBearerDefaults.AuthenticationScheme)
            .AddJwtBearer()
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<AuthOptions>, TokenIssuer>((jwt, auth, issuer) =>
            {
                jwt.MapInboundClaims = false;
                jwt.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidIssuer = auth.Value.Issuer,
                    ValidAudience = auth.Value.Audience,
                    IssuerSigningKey = issuer.Key,
                    ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
                    ClockSkew = TimeSpan.FromSeconds(30),
                    NameClaimType = Caller.UserIdClaim,
                };
                jwt.Events = new JwtBearerEvents { OnTokenValidated = ResolvePrincipalAsync };
            });

        builder.Services.AddAuthorization(options =>
        {
            foreach (var permission in Permissions.AllowedFor(AgencyType.Psap).Union(Permissions.AllowedFor(AgencyType.Company)).Union(Permissions.CommandSystem))
                options.AddPolicy(permission, p => p.RequireAuthenticatedUser().RequireClaim(Caller.PermissionClaim, permission));
        });
        return builder;
    }

    // The token names a user; what that user may do now (active? which agency and role?) comes from the store — read once
    // and held until a change is announced (PrincipalCache) — so deactivation and role changes take effect on the next
    // request, not when the token expires.
    private static async Task ResolvePrincipalAsync(TokenValidatedContext context)
    {
        var subject = context.Principal?.FindFirst(Caller.UserIdClaim)?.Value;
        if (!Guid.TryParse(subject, out var userId))
        {
            context.Fail("Token has no subject.");
            return;
        }
        var principal = await context.HttpContext.RequestServices.GetRequiredService<PrincipalCache>().FindAsync(userId);
        if (principal is null)
        {
            context.Fail("User or agency is not active.");
            return;
        }
        context.Principal = new ClaimsPrincipal(Caller.Identity(JwtBearerDefaults.AuthenticationScheme, Caller.UserKind, subject,
            principal.AgencyId, principal.AgencyType, principal.Permissions));
    }
}
