using FastEndpoints;

namespace Dispatch.Api.Incidents.Resolve;

public sealed class ResolveIncident(IClusterClient grains)
    : Endpoint<IdRoute, Results<Ok<IncidentDetail>, NotFound, ValidationProblem, ProblemHttpResult>>
{
    public override void Configure()
    {
        Post("/{id:guid}/resolve");
        Group<IncidentsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.IncidentsManage));
        Description(d => d.ProducesProblem(StatusCodes.Status409Conflict).WithName("ResolveIncident").WithSummary("Mark the incident resolved."));
    }

    public override async Task<Results<Ok<IncidentDetail>, NotFound, ValidationProblem, ProblemHttpResult>> ExecuteAsync(
        IdRoute request, CancellationToken ct) =>
        IncidentAnswers.Answer(await grains.GetGrain<IIncidentGrain>(request.Id).ResolveAsync(User.ToAgencyContext()));
}
