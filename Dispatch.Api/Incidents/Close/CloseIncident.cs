using FastEndpoints;

namespace Dispatch.Api.Incidents.Close;

public sealed class CloseIncident(IClusterClient grains)
    : Endpoint<IdRoute, Results<Ok<IncidentDetail>, NotFound, ValidationProblem, ProblemHttpResult>>
{
    public override void Configure()
    {
        Post("/{id:guid}/close");
        Group<IncidentsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.IncidentsManage));
        Description(d => d.ProducesProblem(StatusCodes.Status409Conflict).WithName("CloseIncident").WithSummary("Close a resolved incident."));
    }

    public override async Task<Results<Ok<IncidentDetail>, NotFound, ValidationProblem, ProblemHttpResult>> ExecuteAsync(
        IdRoute request, CancellationToken ct) =>
        IncidentAnswers.Answer(await grains.GetGrain<IIncidentGrain>(request.Id).CloseAsync(User.ToAgencyContext()));
}
