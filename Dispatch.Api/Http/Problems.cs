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

    /// <summary>
    /// 503 with <c>Retry-After</c>, as a problem: the Api could not do the work now (no silo answered, the database is
    /// unreachable, too many requests waiting); nothing was done that the caller is not told of, and the request is safe to repeat.
    /// </summary>
    public static ValueTask<bool> UnavailableAsync(HttpContext context, string detail)
    {
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.RetryAfter = "2";
        return context.RequestServices.GetRequiredService<IProblemDetailsService>().TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = StatusCodes.Status503ServiceUnavailable, Title = "Service unavailable", Detail = detail },
        });
    }
}
