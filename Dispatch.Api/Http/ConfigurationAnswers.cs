namespace Dispatch.Api.Http;

/// <summary>An agency configuration write's outcome (channels, notification rules, preferences, escalation rules) as HTTP.</summary>
public static class ConfigurationAnswers
{
    /// <summary>A create: 201 with the new item at <paramref name="location"/>.</summary>
    public static Results<Created<T>, NotFound, ValidationProblem, ProblemHttpResult> Created<T>(ConfigurationResult<T> result, Func<T, string> location) =>
        result.Outcome switch
        {
            CommandOutcome.NotFound => TypedResults.NotFound(),
            CommandOutcome.Invalid => TypedResults.ValidationProblem(result.Errors!),
            CommandOutcome.Conflict => Problems.Conflict(result.Message!),
            _ => TypedResults.Created(location(result.Value!), result.Value),
        };

    /// <summary>A replace or an update: 200 with the item as it is now.</summary>
    public static Results<Ok<T>, NotFound, ValidationProblem, ProblemHttpResult> Updated<T>(ConfigurationResult<T> result) => result.Outcome switch
    {
        CommandOutcome.NotFound => TypedResults.NotFound(),
        CommandOutcome.Invalid => TypedResults.ValidationProblem(result.Errors!),
        CommandOutcome.Conflict => Problems.Conflict(result.Message!),
        _ => TypedResults.Ok(result.Value!),
    };
}
