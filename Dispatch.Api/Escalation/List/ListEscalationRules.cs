using Dispatch.Grains.Escalation;
using FastEndpoints;
using FluentValidation;

namespace Dispatch.Api.Escalation.List;

public sealed class ListEscalationRulesRequest : IPagedRequest
{
    /// <summary>The company whose rules a PSAP reads (a company reads its own).</summary>
    public Guid? CompanyId { get; set; }
    public int? Page { get; set; }
    public int? PageSize { get; set; }
}

public sealed class ListEscalationRulesValidator : Validator<ListEscalationRulesRequest>
{
    public ListEscalationRulesValidator() => this.AddPagingRules();
}

public sealed class ListEscalationRules(DispatchStore store)
    : Endpoint<ListEscalationRulesRequest, Results<Ok<Page<EscalationRule>>, ValidationProblem>>
{
    public override void Configure()
    {
        Get("/");
        Group<EscalationGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.EscalationRulesRead));
        Description(d => d.WithName("ListEscalationRules")
            .WithSummary("A company's escalation rules: its own, or (for a PSAP) those of a company it works with, via ?companyId=."));
    }

    public override async Task<Results<Ok<Page<EscalationRule>>, ValidationProblem>> ExecuteAsync(ListEscalationRulesRequest request, CancellationToken ct)
    {
        var psap = User.AgencyType() == AgencyType.Psap;
        if (psap && request.CompanyId is null) return Problems.Field("companyId", "a PSAP names the company whose rules it reads.");
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        return TypedResults.Ok(request.ToPaging().Of(await EscalationRules.ListAsync(scope, psap ? request.CompanyId!.Value : scope.Context.AgencyId)));
    }
}
