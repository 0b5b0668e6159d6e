using FastEndpoints;

namespace Dispatch.Api.Incidents.People;

/// <summary>
/// <c>GET /api/v1/incidents/{id}/people</c>: the people the incident reached — notified, or who acknowledged — by name and email,
/// so that a dispatcher can see (and call) who was told. The PSAP that raised it sees everyone; a company only its own people.
/// </summary>
public sealed class ListIncidentPeople(DispatchStore store) : Endpoint<IdRoute, Results<Ok<IReadOnlyList<IncidentPerson>>, NotFound>>
{
    public override void Configure()
    {
        Get("/{id:guid}/people");
        Group<IncidentsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.IncidentsRead));
        Description(d => d.WithName("ListIncidentPeople").WithSummary("Who the incident reached: the people notified and who acknowledged, by name."));
    }

    public override async Task<Results<Ok<IReadOnlyList<IncidentPerson>>, NotFound>> ExecuteAsync(IdRoute request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        if (await IncidentViews.StateAsync(scope, request.Id) is null) return TypedResults.NotFound(); // not an incident the caller sees
        return TypedResults.Ok(await IncidentPeople.ListAsync(scope, request.Id));
    }
}
