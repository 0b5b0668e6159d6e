using Dispatch.Grains.Escalation;
using FastEndpoints;
using FluentValidation;

namespace Dispatch.Api.Escalation.Save;

public class EscalationRuleRequest
{
    public string[]? PriorityFilter { get; set; }
    public int? AckTimeoutSeconds { get; set; }
    public IReadOnlyList<EscalationTier>? EscalationOrder { get; set; }
    public IReadOnlyList<Guid>? NotifyPsapUserIds { get; set; }
    public int? RepeatCount { get; set; }
    public bool? IsActive { get; set; }

    public EscalationRuleChanges ToChanges() => new(PriorityFilter is { Length: > 0 } p ? p.Distinct().ToArray() : null, AckTimeoutSeconds!.Value,
        EscalationOrder!, NotifyPsapUserIds ?? [], RepeatCount ?? 0, IsActive ?? true);
}

public sealed class ReplaceEscalationRuleRequest : EscalationRuleRequest
{
    public Guid Id { get; set; }
}

/// <summary>What a rule must hold; whether its users and roles exist is the agency grain's to say.</summary>
public sealed class EscalationRuleRules : AbstractValidator<EscalationRuleRequest>
{
    public EscalationRuleRules()
    {
        RuleFor(r => r.PriorityFilter).Must(p => (p ?? []).All(IncidentPriority.IsValid))
            .WithMessage("priorityFilter holds irod, critical, dangerous, routine_special.");
        RuleFor(r => r.AckTimeoutSeconds).Must(s => s is >= EscalationRules.MinimumAckTimeoutSeconds and <= 86_400)
            .WithMessage($"ackTimeoutSeconds is between {EscalationRules.MinimumAckTimeoutSeconds} and 86400.");
        RuleFor(r => r.EscalationOrder).Must(o => o is { Count: > 0 and <= 10 }).WithMessage("escalationOrder lists 1 to 10 tiers.");
        RuleForEach(r => r.EscalationOrder).Must(t => (t.UserIds?.Count ?? 0) + (t.RoleSlugs?.Count ?? 0) > 0).WithMessage("a tier names users or roles.");
        RuleForEach(r => r.EscalationOrder).Must(t => (t.UserIds?.Count ?? 0) <= ListRules.MaxItems && (t.RoleSlugs?.Count ?? 0) <= ListRules.MaxItems)
            .WithMessage($"a tier names at most {ListRules.MaxItems} users and {ListRules.MaxItems} roles.");
        RuleFor(r => r.NotifyPsapUserIds).AtMost("notifyPsapUserIds");
        RuleFor(r => r.RepeatCount).Must(n => n is null or (>= 0 and <= 10)).WithMessage("repeatCount is between 0 and 10.");
    }
}

public sealed class CreateEscalationRuleValidator : Validator<EscalationRuleRequest>
{
    public CreateEscalationRuleValidator() => Include(new EscalationRuleRules());
}

public sealed class ReplaceEscalationRuleValidator : Validator<ReplaceEscalationRuleRequest>
{
    public ReplaceEscalationRuleValidator() => Include(new EscalationRuleRules());
}

public sealed class CreateEscalationRule(IClusterClient grains)
    : Endpoint<EscalationRuleRequest, Results<Created<EscalationRule>, NotFound, ValidationProblem, ProblemHttpResult>>
{
    public override void Configure()
    {
        Post("/");
        Group<EscalationGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.EscalationRulesManage));
        Description(d => d.ProducesProblem(StatusCodes.Status409Conflict).WithName("CreateEscalationRule")
            .WithSummary("Who is told, tier after tier, when nobody acknowledges in time; one active rule per priority."));
    }

    public override async Task<Results<Created<EscalationRule>, NotFound, ValidationProblem, ProblemHttpResult>> ExecuteAsync(
        EscalationRuleRequest request, CancellationToken ct)
    {
        var context = User.ToAgencyContext();
        var result = await grains.GetGrain<IAgencyGrain>(context.AgencyId).SaveEscalationRuleAsync(context, null, request.ToChanges());
        return ConfigurationAnswers.Created(result, rule => $"/api/v1/escalation-rules/{rule.Id}");
    }
}

public sealed class ReplaceEscalationRule(IClusterClient grains, DispatchStore store)
    : Endpoint<ReplaceEscalationRuleRequest, Results<Ok<EscalationRule>, NotFound, ValidationProblem, ProblemHttpResult>>
{
    public override void Configure()
    {
        Put("/{id:guid}");
        Group<EscalationGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.EscalationRulesManage));
        Description(d => d.ProducesProblem(StatusCodes.Status409Conflict).WithName("ReplaceEscalationRule").WithSummary("Replace a rule."));
        DontThrowIfValidationFails(); // another agency's rule is not found, whatever the body says
    }

    public override async Task<Results<Ok<EscalationRule>, NotFound, ValidationProblem, ProblemHttpResult>> ExecuteAsync(
        ReplaceEscalationRuleRequest request, CancellationToken ct)
    {
        var context = User.ToAgencyContext();
        await using (var scope = await store.BeginAsync(context))
            if ((await EscalationRules.GetAsync(scope, request.Id))?.AgencyId != context.AgencyId) return TypedResults.NotFound();
        if (ValidationFailed) return TypedResults.ValidationProblem(FastEndpointsSetup.Fields(ValidationFailures));
        var result = await grains.GetGrain<IAgencyGrain>(context.AgencyId).SaveEscalationRuleAsync(context, request.Id, request.ToChanges());
        return ConfigurationAnswers.Updated(result);
    }
}
