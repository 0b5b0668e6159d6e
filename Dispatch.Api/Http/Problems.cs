using Microsoft.AspNetCore.Http.HttpResults;

namespace Dispatch.Api.Http;

/// <summary>The problem-details answers handlers give for a client's mistake.</summary>
public static class Problems
{
    public static ProblemHttpResult Conflict(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: detail);

    public static ProblemHttpResult Forbidden(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", detail: detail);

    public static ValidationProblem Field(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] });
}
