using System.Security.Claims;
using Dispatch.Api.Auth;
using Dispatch.Api.Http;
using Dispatch.Grains.Agencies;
using Dispatch.Grains.Escalation;
using Dispatch.Grains.Identity;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Dispatch.Api.Escalation;

public sealed record EscalationRuleRequest(string[]? PriorityFilter, int? AckTimeoutSeconds, IReadOnlyList<EscalationTier>? EscalationOrder,
    IReadOnlyList<Guid>? NotifyPsapUserIds, int? RepeatCount, bool? IsActive)
{
    public Errors Validate()
    {
        var errors = new Errors()
            .Check((PriorityFilter ?? []).All(IncidentPriority.IsValid), "priorityFilter", "priorityFilter holds irod, critical, dangerous, routine_special.")
            .Check(AckTimeoutSeconds is >= EscalationRules.MinimumAckTimeoutSeconds and <= 86_400, "ackTimeoutSeconds",
                $"ackTimeoutSeconds is between {EscalationRules.MinimumAckTimeoutSeconds} and 86400.")
            .Check(EscalationOrder is { Count: > 0 and <= 10 }, "escalationOrder", "escalationOrder lists 1 to 10 tiers.")
            .Check(RepeatCount is null or (>= 0 and <= 10), "repeatCount", "repeatCount is between 0 and 10.");
        foreach (var (tier, i) in (EscalationOrder ?? []).Select((t, i) => (t, i)))
            errors.Check((tier.UserIds?.Count ?? 0) + (tier.RoleSlugs?.Count ?? 0) > 0, $"escalationOrder[{i}]", "a tier names users or roles.");
        return errors;
    }

    public EscalationRuleChanges ToChanges() => new(PriorityFilter is { Length: > 0 } p ? p.Distinct().ToArray() : null, AckTimeoutSeconds!.Value,
        EscalationOrder!, NotifyPsapUserIds ?? [], RepeatCount ?? 0, IsActive ?? true);
}

public static class EscalationRulesApi
{
    public static IEndpointRouteBuilder MapEscalationRulesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/escalation-rules").WithTags("Escalation");
        api.MapGet("/", ListAsync).WithName("ListEscalationRules")
            .WithSummary("A company's escalation rules: its own, or (for a PSAP) those of a company it works with, via ?companyId=.")
            .RequirePermission(Permissions.EscalationRulesRead);
        api.MapPost("/", CreateAsync).WithName("CreateEscalationRule")
            .WithSummary("Who is told, tier after tier, when nobody acknowledges in time; one active rule per priority.")
            .RequirePermission(Permissions.EscalationRulesManage);
        api.MapPut("/{id:guid}", ReplaceAsync).WithName("ReplaceEscalationRule").WithSummary("Replace a rule.")
            .RequirePermission(Permissions.EscalationRulesManage);
        api.MapDelete("/{id:guid}", DeleteAsync).WithName("DeleteEscalationRule").WithSummary("Delete a rule.")
            .RequirePermission(Permissions.EscalationRulesManage);
        return app;
    }

    public static async Task<Results<Ok<Page<EscalationRule>>, ValidationProblem>> ListAsync(Guid? companyId, int? page, int? pageSize,
        ClaimsPrincipal caller, DispatchStore store)
    {
        if (!Paging.TryCreate(page, pageSize, out var paging, out var errors)) return TypedResults.ValidationProblem(errors);
        var psap = caller.AgencyType() == AgencyType.Psap;
        if (psap && companyId is null) return Problems.Field("companyId", "a PSAP names the company whose rules it reads.");
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        return TypedResults.Ok(paging.Of(await EscalationRules.ListAsync(scope, psap ? companyId!.Value : scope.Context.AgencyId)));
    }

    public static Task<Results<Created<EscalationRule>, Ok<EscalationRule>, NotFound, ValidationProblem, ProblemHttpResult>> CreateAsync(
        EscalationRuleRequest request, ClaimsPrincipal caller, DispatchStore store, IClusterClient grains) => SaveAsync(null, request, caller, store, grains);

    public static Task<Results<Created<EscalationRule>, Ok<EscalationRule>, NotFound, ValidationProblem, ProblemHttpResult>> ReplaceAsync(
        Guid id, EscalationRuleRequest request, ClaimsPrincipal caller, DispatchStore store, IClusterClient grains) => SaveAsync(id, request, caller, store, grains);

    private static async Task<Results<Created<EscalationRule>, Ok<EscalationRule>, NotFound, ValidationProblem, ProblemHttpResult>> SaveAsync(
        Guid? id, EscalationRuleRequest request, ClaimsPrincipal caller, DispatchStore store, IClusterClient grains)
    {
        var context = caller.ToAgencyContext();
        if (id is not null)
        {
            await using var scope = await store.BeginAsync(context);
            if ((await EscalationRules.GetAsync(scope, id.Value))?.AgencyId != context.AgencyId) return TypedResults.NotFound();
        }
        if (request.Validate() is { Any: true } errors) return TypedResults.ValidationProblem(errors.ToDictionary());
        var result = await grains.GetGrain<IAgencyGrain>(context.AgencyId).SaveEscalationRuleAsync(context, id, request.ToChanges());
        return result.Outcome switch
        {
            CommandOutcome.NotFound => TypedResults.NotFound(),
            CommandOutcome.Invalid => TypedResults.ValidationProblem(result.Errors!),
            CommandOutcome.Conflict => Problems.Conflict(result.Message!),
            _ when id is null => TypedResults.Created($"/api/v1/escalation-rules/{result.Value!.Id}", result.Value),
            _ => TypedResults.Ok(result.Value!),
        };
    }

    public static async Task<Results<NoContent, NotFound>> DeleteAsync(Guid id, ClaimsPrincipal caller, IClusterClient grains)
    {
        var context = caller.ToAgencyContext();
        var result = await grains.GetGrain<IAgencyGrain>(context.AgencyId).DeleteEscalationRuleAsync(context, id);
        return result.Outcome == CommandOutcome.Done ? TypedResults.NoContent() : TypedResults.NotFound();
    }
}
