using Dispatch.Grains.Transports;
using FastEndpoints;

namespace Dispatch.Api.Transports.ListTypes;

public sealed class ListTransportTypes(DispatchStore store) : Endpoint<PageRequest, Ok<Page<TransportType>>>
{
    public override void Configure()
    {
        Get("/api/v1/transport-types");
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.AgenciesRead));
        Description(d => d.WithTags("Transports").WithName("ListTransportTypes")
            .WithSummary("The transport catalog with each type's channel configuration schema."));
    }

    public override async Task<Ok<Page<TransportType>>> ExecuteAsync(PageRequest request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        return TypedResults.Ok(request.ToPaging().Of(await TransportConfiguration.TypesAsync(scope)));
    }
}
