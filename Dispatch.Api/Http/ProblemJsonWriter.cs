using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Dispatch.Api.Http;

/// <summary>
/// Every error is problem details with a body, whatever the client's <c>Accept</c> says: ASP.NET Core's own writer declines a client
/// that accepts only, say, <c>application/xml</c>, which left empty 415s and turned handled errors into 500s. Registered after it,
/// so it writes only what that writer would not.
/// </summary>
public sealed class ProblemJsonWriter(IOptions<ProblemDetailsOptions> options) : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        problem.Status ??= context.HttpContext.Response.StatusCode;
        problem.Title ??= Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(problem.Status.Value);
        options.Value.CustomizeProblemDetails?.Invoke(context);
        var json = JsonSerializer.Serialize(problem, problem.GetType(), JsonSerializerOptions.Web);
        context.HttpContext.Response.ContentType = "application/problem+json";
        return new ValueTask(context.HttpContext.Response.WriteAsync(json, context.HttpContext.RequestAborted));
    }
}
