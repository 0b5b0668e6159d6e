using Dispatch.Grains.Transports;
using FastEndpoints;

namespace Dispatch.Api.Transports.GetChannel;

public sealed class GetTransportChannel(DispatchStore store) : Endpoint<IdRoute, Results<Ok<TransportChannel>, NotFound>>
{
    public override void Configure()
    {
        Get("/{id:guid}");
        Group<ChannelsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.TransportChannelsManage));
        Description(d => d.WithName("GetTransportChannel").WithSummary("One channel (secrets redacted)."));
    }

    public override async Task<Results<Ok<TransportChannel>, NotFound>> ExecuteAsync(IdRoute request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        return await TransportConfiguration.ChannelAsync(scope, request.Id) is { } channel ? TypedResults.Ok(channel) : TypedResults.NotFound();
    }
}
