using Dispatch.Grains.Escalation;
using FastEndpoints;

namespace Dispatch.Api.Escalation.PsapUsers;

/// <summary>
/// <c>GET /api/v1/escalation-rules/psap-users</c>: the PSAP people a company may name in a rule's <c>notifyPsapUserIds</c> — active
/// users of the PSAPs it works with, by name — so its admin can choose them instead of typing ids.
/// </summary>
public sealed class ListLinkedPsapUsers(DispatchStore store) : EndpointWithoutRequest<Ok<IReadOnlyList<LinkedPsapUser>>>
{
    public override void Configure()
    {
        Get("/psap-users");
        Group<EscalationGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.EscalationRulesManage));
        Description(d => d.WithName("ListLinkedPsapUsers").WithSummary("The PSAP users this company's rules may alert (names only)."));
    }

    public override async Task<Ok<IReadOnlyList<LinkedPsapUser>>> ExecuteAsync(CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        return TypedResults.Ok(await LinkedPsapUsers.ListAsync(scope));
    }
}
