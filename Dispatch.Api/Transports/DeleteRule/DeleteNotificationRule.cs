using FastEndpoints;

namespace Dispatch.Api.Transports.DeleteRule;

public sealed class DeleteNotificationRule(IClusterClient grains) : Endpoint<IdRoute, Results<NoContent, NotFound>>
{
    public override void Configure()
    {
        Delete("/{id:guid}");
        Group<RulesGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.NotificationRulesManage));
        Description(d => d.WithName("DeleteNotificationRule").WithSummary("Delete a rule."));
    }

    public override async Task<Results<NoContent, NotFound>> ExecuteAsync(IdRoute request, CancellationToken ct)
    {
        var context = User.ToAgencyContext();
        var result = await grains.GetGrain<IAgencyGrain>(context.AgencyId).DeleteNotificationRuleAsync(context, request.Id);
        return result.Outcome == CommandOutcome.Done ? TypedResults.NoContent() : TypedResults.NotFound();
    }
}
