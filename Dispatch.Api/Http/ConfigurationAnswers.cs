namespace Dispatch.Api.Http;

/// <summary>An agency configuration write's outcome (channels, notification rules, preferences, escalation rules) as HTTP.</summary>
public static class ConfigurationAnswers
{
    /// <param name="createdAt">Where a new item lives (a create answers 201 with it); null for an update (200).</param>
    public static Results<Created<T>, Ok<T>, NotFound, ValidationProblem, ProblemHttpResult> Saved<T>(
        ConfigurationResult<T> result, Func<T, string>? createdAt) => result.Outcome switch
    {
        CommandOutcome.NotFound => TypedResults.NotFound(),
        CommandOutcome.Invalid => TypedResults.ValidationProblem(result.Errors!),
        CommandOutcome.Conflict => Problems.Conflict(result.Message!),
        _ when createdAt is not null => TypedResults.Created(createdAt(result.Value!), result.Value),
        _ => TypedResults.Ok(result.Value!),
    };
}
