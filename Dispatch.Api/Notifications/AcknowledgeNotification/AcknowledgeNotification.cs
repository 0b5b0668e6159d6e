using FastEndpoints;

namespace Dispatch.Api.Notifications.AcknowledgeNotification;

public sealed class AcknowledgeNotification(DispatchStore store, IClusterClient grains)
    : Endpoint<IdRoute, Results<Ok<Acknowledgement>, NotFound>>
{
    public override void Configure()
    {
        Post("/api/v1/notifications/{id:guid}/ack");
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.IncidentsAck));
        Description(d => d.WithTags("Acknowledgements").WithName("AcknowledgeNotification")
            .WithSummary("A company user acknowledges a notification for their company; repeating it reports the first acknowledgement."));
    }

    public override async Task<Results<Ok<Acknowledgement>, NotFound>> ExecuteAsync(IdRoute request, CancellationToken ct)
    {
        var ack = await Acknowledging.AcknowledgeNotificationAsync(store, grains, User.ToAgencyContext(), request.Id, AckSource.Api);
        if (ack is null) return TypedResults.NotFound();
        AckMetrics.Record(ack);
        return TypedResults.Ok(ack);
    }
}
