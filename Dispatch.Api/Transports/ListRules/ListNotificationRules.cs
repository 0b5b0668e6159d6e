using Dispatch.Grains.Transports;
using FastEndpoints;

namespace Dispatch.Api.Transports.ListRules;

public sealed class ListNotificationRules(DispatchStore store) : Endpoint<PageRequest, Ok<Page<NotificationRule>>>
{
    public override void Configure()
    {
        Get("/");
        Group<RulesGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.NotificationRulesManage));
        Description(d => d.WithName("ListNotificationRules").WithSummary("Which channels serve which incidents, and when."));
    }

    public override async Task<Ok<Page<NotificationRule>>> ExecuteAsync(PageRequest request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        return TypedResults.Ok(request.ToPaging().Of(await TransportConfiguration.RulesAsync(scope)));
    }
}
