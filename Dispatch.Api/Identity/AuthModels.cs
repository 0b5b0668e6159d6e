using Dispatch.Api.Http;

namespace Dispatch.Api.Identity;

public sealed record LoginRequest(string? Email, string? Password)
{
    public Errors Validate() => new Errors()
        .Check(!string.IsNullOrWhiteSpace(Email), "email", "email is required.")
        .Check(!string.IsNullOrEmpty(Password), "password", "password is required.");
}

public sealed record RefreshRequest(string? RefreshToken)
{
    public Errors Validate() => new Errors().Check(!string.IsNullOrWhiteSpace(RefreshToken), "refreshToken", "refreshToken is required.");
}

public sealed record TokenResponse(string AccessToken, string RefreshToken, int ExpiresIn, string TokenType = "Bearer");
