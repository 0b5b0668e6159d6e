using FastEndpoints;

namespace Dispatch.Api.Incidents.Get;

public sealed class GetIncident(DispatchStore store) : Endpoint<IdRoute, Results<Ok<IncidentDetail>, NotFound>>
{
    public override void Configure()
    {
        Get("/{id:guid}");
        Group<IncidentsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.IncidentsRead));
        Description(d => d.WithName("GetIncident").WithSummary("An incident with each company's acknowledgement, notifications and deliveries."));
    }

    public override async Task<Results<Ok<IncidentDetail>, NotFound>> ExecuteAsync(IdRoute request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        return await IncidentViews.GetAsync(scope, request.Id) is { } detail ? TypedResults.Ok(detail) : TypedResults.NotFound();
    }
}
