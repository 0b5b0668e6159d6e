using FastEndpoints;

namespace Dispatch.Api.Incidents.Acknowledge;

public sealed class AcknowledgeIncident(IClusterClient grains) : Endpoint<IdRoute, Results<Ok<Acknowledgement>, NotFound>>
{
    public override void Configure()
    {
        Post("/{id:guid}/ack");
        Group<IncidentsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.IncidentsAck));
        Description(d => d.WithName("AcknowledgeIncident")
            .WithSummary("A company user acknowledges the incident for their company; repeating it reports the first acknowledgement."));
    }

    public override async Task<Results<Ok<Acknowledgement>, NotFound>> ExecuteAsync(IdRoute request, CancellationToken ct)
    {
        var result = await grains.GetGrain<IIncidentGrain>(request.Id).AcknowledgeAsync(User.ToAgencyContext(), null, AckSource.IncidentApi);
        if (result.Acknowledgement is not { } ack) return TypedResults.NotFound();
        AckMetrics.Record(ack);
        return TypedResults.Ok(ack);
    }
}
