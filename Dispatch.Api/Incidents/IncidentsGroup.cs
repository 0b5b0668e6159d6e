using FastEndpoints;

namespace Dispatch.Api.Incidents;

/// <summary><c>/api/v1/incidents</c>: an incident's life from raise to close.</summary>
public sealed class IncidentsGroup : Group
{
    public IncidentsGroup() => Configure("/api/v1/incidents", ep => ep.Description(d => d.WithTags("Incidents")));
}

/// <summary>An incident command's outcome as HTTP.</summary>
internal static class IncidentAnswers
{
    public static Results<Ok<IncidentDetail>, NotFound, ValidationProblem, ProblemHttpResult> Answer(IncidentCommandResult result) => result.Outcome switch
    {
        CommandOutcome.NotFound => TypedResults.NotFound(),
        CommandOutcome.Invalid => Problems.Field(result.Field!, result.Message!),
        CommandOutcome.Conflict => Problems.Conflict(result.Message!),
        _ => result.Detail is { } detail ? TypedResults.Ok(detail) : TypedResults.NotFound(),
    };
}

