using Dispatch.Api.Auth;
using Dispatch.Api.Http;
using Dispatch.Grains.Identity;
using Dispatch.Grains.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Dispatch.Api.Identity;

public static class AuthApi
{
    public static IEndpointRouteBuilder MapAuthApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/auth").WithTags("Auth").AllowAnonymous();
        api.MapPost("/login", LoginAsync).WithName("Login")
            .WithSummary("Exchange an email and password for an access token and a refresh token.");
        api.MapPost("/refresh", RefreshAsync).WithName("Refresh")
            .WithSummary("Exchange a refresh token for a new pair; a reused refresh token revokes its whole family.");
        api.MapPost("/logout", LogoutAsync).WithName("Logout")
            .WithSummary("Revoke a refresh token and every token rotated from the same login.");
        return app;
    }

    private const string InvalidCredentials = "The email or password is not correct.";

    public static async Task<Results<Ok<TokenResponse>, ValidationProblem, ProblemHttpResult>> LoginAsync(
        LoginRequest request, HttpContext http, Credentials credentials, LoginThrottle throttle, DispatchStore store,
        TokenIssuer tokens, IOptions<AuthOptions> options, TimeProvider time)
    {
        if (request.Validate() is { Any: true } errors) return TypedResults.ValidationProblem(errors.ToDictionary());
        var email = request.Email!.Trim().ToLowerInvariant();
        var address = http.Connection.RemoteIpAddress?.ToString();
        if (throttle.RetryAfter(email, address) is { } wait)
            return TooManyAttempts(http, wait);

        var login = await credentials.FindLoginAsync(email);
        // Unknown emails cost one hash verification too, so timing does not tell them apart.
        var passwordOk = Users.VerifyPassword(login?.PasswordHash ?? Users.DummyHash, request.Password!);
        if (login is null || !passwordOk || !login.IsActive)
        {
            throttle.RecordFailure(email, address);
            return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Login failed", detail: InvalidCredentials);
        }
        throttle.RecordSuccess(email);

        var now = time.GetUtcNow();
        await using var scope = await store.BeginAsync(new AgencyContext(login.AgencyId, login.UserId));
        await Users.RecordLoginAsync(scope, login.UserId, now);
        var refresh = await RefreshTokens.IssueAsync(scope, login.UserId, null, now, options.Value.RefreshTokenLifetime);
        await scope.CommitAsync();
        var (access, expiresIn) = tokens.Issue(login.UserId, login.AgencyId);
        return TypedResults.Ok(new TokenResponse(access, refresh, expiresIn));
    }

    public static async Task<Results<Ok<TokenResponse>, ValidationProblem, ProblemHttpResult>> RefreshAsync(
        RefreshRequest request, Credentials credentials, DispatchStore store, TokenIssuer tokens, IOptions<AuthOptions> options,
        TimeProvider time)
    {
        if (request.Validate() is { Any: true } errors) return TypedResults.ValidationProblem(errors.ToDictionary());
        var found = await credentials.FindRefreshTokenAsync(request.RefreshToken!);
        if (found is null) return RefreshRefused();

        var now = time.GetUtcNow();
        await using var scope = await store.BeginAsync(new AgencyContext(found.AgencyId, found.UserId));
        var (outcome, token) = await RefreshTokens.RotateAsync(scope, found.Id, found.UserId, now, options.Value.RefreshTokenLifetime);
        await scope.CommitAsync(); // a detected reuse revokes the family even though this request fails
        if (outcome != RefreshOutcome.Rotated || await credentials.FindPrincipalAsync(found.UserId) is null)
            return RefreshRefused();
        var (access, expiresIn) = tokens.Issue(found.UserId, found.AgencyId);
        return TypedResults.Ok(new TokenResponse(access, token!, expiresIn));
    }

    public static async Task<Results<NoContent, ValidationProblem>> LogoutAsync(
        RefreshRequest request, Credentials credentials, DispatchStore store, TimeProvider time)
    {
        if (request.Validate() is { Any: true } errors) return TypedResults.ValidationProblem(errors.ToDictionary());
        if (await credentials.FindRefreshTokenAsync(request.RefreshToken!) is { } found)
        {
            await using var scope = await store.BeginAsync(new AgencyContext(found.AgencyId, found.UserId));
            await RefreshTokens.RevokeFamilyOfAsync(scope, found.Id, time.GetUtcNow());
            await scope.AuditAsync("auth.logout", "user", found.UserId, null, null);
            await scope.CommitAsync();
        }
        return TypedResults.NoContent();
    }

    private static ProblemHttpResult RefreshRefused() =>
        TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Refresh refused",
            detail: "The refresh token is unknown, expired, revoked or already used. Log in again.");

    private static ProblemHttpResult TooManyAttempts(HttpContext http, TimeSpan wait)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        http.Response.Headers.RetryAfter = seconds.ToString();
        return TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many failed logins",
            detail: $"Try again in {seconds} seconds.");
    }
}
