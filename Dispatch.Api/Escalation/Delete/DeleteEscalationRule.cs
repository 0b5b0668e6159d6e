using FastEndpoints;

namespace Dispatch.Api.Escalation.Delete;

public sealed class DeleteEscalationRule(IClusterClient grains) : Endpoint<IdRoute, Results<NoContent, NotFound>>
{
    public override void Configure()
    {
        Delete("/{id:guid}");
        Group<EscalationGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.EscalationRulesManage));
        Description(d => d.WithName("DeleteEscalationRule").WithSummary("Delete a rule."));
    }

    public override async Task<Results<NoContent, NotFound>> ExecuteAsync(IdRoute request, CancellationToken ct)
    {
        var context = User.ToAgencyContext();
        var result = await grains.GetGrain<IAgencyGrain>(context.AgencyId).DeleteEscalationRuleAsync(context, request.Id);
        return result.Outcome == CommandOutcome.Done ? TypedResults.NoContent() : TypedResults.NotFound();
    }
}
