using Dispatch.Grains.Transports;
using FastEndpoints;

namespace Dispatch.Api.Transports.ListChannels;

public sealed class ListTransportChannels(DispatchStore store) : Endpoint<PageRequest, Ok<Page<TransportChannel>>>
{
    public override void Configure()
    {
        Get("/");
        Group<ChannelsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.TransportChannelsManage));
        Description(d => d.WithName("ListTransportChannels").WithSummary("The company's channels (secrets redacted)."));
    }

    public override async Task<Ok<Page<TransportChannel>>> ExecuteAsync(PageRequest request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        return TypedResults.Ok(request.ToPaging().Of(await TransportConfiguration.ChannelsAsync(scope)));
    }
}
