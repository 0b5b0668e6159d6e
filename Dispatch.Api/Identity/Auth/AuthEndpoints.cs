using FastEndpoints;
using FluentValidation;
using Microsoft.Extensions.Options;

namespace Dispatch.Api.Identity.Auth;

/// <summary><c>/api/v1/auth</c>: logging in and out; the only endpoints open to anyone.</summary>
public sealed class AuthGroup : Group
{
    public AuthGroup() => Configure("/api/v1/auth", ep =>
    {
        ep.AllowAnonymous();
        ep.Description(d => d.WithTags("Auth"));
    });
}

public sealed class LoginRequest
{
    public string? Email { get; set; }
    public string? Password { get; set; }
}

public sealed class LoginValidator : Validator<LoginRequest>
{
    public LoginValidator()
    {
        RuleFor(r => r.Email).Must(e => !string.IsNullOrWhiteSpace(e)).WithMessage("email is required.");
        RuleFor(r => r.Password).Must(p => !string.IsNullOrEmpty(p)).WithMessage("password is required.");
    }
}

public sealed class RefreshRequest
{
    public string? RefreshToken { get; set; }
}

public sealed class RefreshValidator : Validator<RefreshRequest>
{
    public RefreshValidator() => RuleFor(r => r.RefreshToken).Must(t => !string.IsNullOrWhiteSpace(t)).WithMessage("refreshToken is required.");
}

public sealed record TokenResponse(string AccessToken, string RefreshToken, int ExpiresIn, string TokenType = "Bearer");

public sealed class Login(Credentials credentials, LoginThrottle throttle, DispatchStore store, TokenIssuer tokens, IOptions<AuthOptions> options,
    TimeProvider time) : Endpoint<LoginRequest, Results<Ok<TokenResponse>, ProblemHttpResult>>
{
    private const string InvalidCredentials = "The email or password is not correct.";

    public override void Configure()
    {
        Post("/login");
        Group<AuthGroup>();
        Description(d => d.WithName("Login").WithSummary("Exchange an email and password for an access token and a refresh token."));
    }

    public override async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> ExecuteAsync(LoginRequest request, CancellationToken ct)
    {
        var email = request.Email!.Trim().ToLowerInvariant();
        var address = HttpContext.Connection.RemoteIpAddress?.ToString();
        if (throttle.RetryAfter(email, address) is { } wait)
            return TooManyAttempts(wait);

        var login = await credentials.FindLoginAsync(email);
        // Unknown emails cost one hash verification too, so timing does not tell them apart.
        var passwordOk = Grains.Identity.Users.VerifyPassword(login?.PasswordHash ?? Grains.Identity.Users.DummyHash, request.Password!);
        if (login is null || !passwordOk || !login.IsActive)
        {
            throttle.RecordFailure(email, address);
            return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Login failed", detail: InvalidCredentials);
        }
        throttle.RecordSuccess(email);

        var now = time.GetUtcNow();
        await using var scope = await store.BeginAsync(new AgencyContext(login.AgencyId, login.UserId));
        await Grains.Identity.Users.RecordLoginAsync(scope, login.UserId, now);
        var refresh = await RefreshTokens.IssueAsync(scope, login.UserId, null, now, options.Value.RefreshTokenLifetime);
        await scope.CommitAsync();
        var (access, expiresIn) = tokens.Issue(login.UserId, login.AgencyId);
        return TypedResults.Ok(new TokenResponse(access, refresh, expiresIn));
    }

    private ProblemHttpResult TooManyAttempts(TimeSpan wait)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        HttpContext.Response.Headers.RetryAfter = seconds.ToString();
        return TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many failed logins",
            detail: $"Try again in {seconds} seconds.");
    }
}

public sealed class Refresh(Credentials credentials, DispatchStore store, TokenIssuer tokens, IOptions<AuthOptions> options, TimeProvider time)
    : Endpoint<RefreshRequest, Results<Ok<TokenResponse>, ProblemHttpResult>>
{
    public override void Configure()
    {
        Post("/refresh");
        Group<AuthGroup>();
        Description(d => d.WithName("Refresh").WithSummary("Exchange a refresh token for a new pair; a reused refresh token revokes its whole family."));
    }

    public override async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> ExecuteAsync(RefreshRequest request, CancellationToken ct)
    {
        var found = await credentials.FindRefreshTokenAsync(request.RefreshToken!);
        if (found is null) return Refused();

        var now = time.GetUtcNow();
        await using var scope = await store.BeginAsync(new AgencyContext(found.AgencyId, found.UserId));
        var (outcome, token) = await RefreshTokens.RotateAsync(scope, found.Id, found.UserId, now, options.Value.RefreshTokenLifetime);
        await scope.CommitAsync(); // a detected reuse revokes the family even though this request fails
        if (outcome != RefreshOutcome.Rotated || await credentials.FindPrincipalAsync(found.UserId) is null)
            return Refused();
        var (access, expiresIn) = tokens.Issue(found.UserId, found.AgencyId);
        return TypedResults.Ok(new TokenResponse(access, token!, expiresIn));
    }

    private static ProblemHttpResult Refused() =>
        TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Refresh refused",
            detail: "The refresh token is unknown, expired, revoked or already used. Log in again.");
}

public sealed class Logout(Credentials credentials, DispatchStore store, TimeProvider time) : Endpoint<RefreshRequest, NoContent>
{
    public override void Configure()
    {
        Post("/logout");
        Group<AuthGroup>();
        Description(d => d.WithName("Logout").WithSummary("Revoke a refresh token and every token rotated from the same login."));
    }

    public override async Task<NoContent> ExecuteAsync(RefreshRequest request, CancellationToken ct)
    {
        if (await credentials.FindRefreshTokenAsync(request.RefreshToken!) is { } found)
        {
            await using var scope = await store.BeginAsync(new AgencyContext(found.AgencyId, found.UserId));
            await RefreshTokens.RevokeFamilyOfAsync(scope, found.Id, time.GetUtcNow());
            await scope.AuditAsync("auth.logout", "user", found.UserId, null, null);
            await scope.CommitAsync();
        }
        return TypedResults.NoContent();
    }
}
