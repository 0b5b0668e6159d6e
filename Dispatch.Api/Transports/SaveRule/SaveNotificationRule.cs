using Dispatch.Grains.Transports;
using FastEndpoints;
using FluentValidation;

namespace Dispatch.Api.Transports.SaveRule;

public class RuleRequest
{
    public Guid? TransportChannelId { get; set; }
    public string[]? PriorityFilter { get; set; }
    public string[]? TypeFilter { get; set; }
    /// <summary>The window's start, the company's local time of day (e.g. 22:00); with <see cref="TimeEnd"/>, it may run across midnight.</summary>
    public string? TimeStart { get; set; }
    public string? TimeEnd { get; set; }
    public bool? IsActive { get; set; }

    public NotificationRuleChanges ToChanges() => new(TransportChannelId!.Value, PriorityFilter is { Length: > 0 } p ? p : null,
        TypeFilter is { Length: > 0 } t ? t : null, TimeOf(TimeStart), TimeOf(TimeEnd), IsActive ?? true);

    public static TimeOnly? TimeOf(string? text) => TimeOnly.TryParse(text, out var time) ? time : null;
}

public sealed class ReplaceRuleRequest : RuleRequest
{
    public Guid Id { get; set; }
}

public sealed class RuleRules : AbstractValidator<RuleRequest>
{
    public RuleRules()
    {
        RuleFor(r => r.TransportChannelId).NotNull().WithMessage("transportChannelId is required.");
        RuleFor(r => r.PriorityFilter).Must(p => (p ?? []).All(IncidentPriority.IsValid))
            .WithMessage("priorityFilter holds irod, critical, dangerous, routine_special.");
        RuleFor(r => r.TypeFilter).Must(t => (t ?? []).All(Endpoints.IsSlug)).WithMessage("typeFilter holds incident type slugs.");
        RuleFor(r => r.TimeStart).Must(t => t is null || RuleRequest.TimeOf(t) is not null).WithMessage("timeStart is a time of day such as 22:00.");
        RuleFor(r => r.TimeEnd).Must(t => t is null || RuleRequest.TimeOf(t) is not null).WithMessage("timeEnd is a time of day such as 06:00.");
        RuleFor(r => r.TimeEnd).Must((r, end) => (r.TimeStart is null) == (end is null))
            .WithMessage("a window needs both timeStart and timeEnd (the company's local time; it may run across midnight).");
    }
}

public sealed class CreateRuleValidator : Validator<RuleRequest>
{
    public CreateRuleValidator() => Include(new RuleRules());
}

public sealed class ReplaceRuleValidator : Validator<ReplaceRuleRequest>
{
    public ReplaceRuleValidator() => Include(new RuleRules());
}

public sealed class CreateNotificationRule(IClusterClient grains)
    : Endpoint<RuleRequest, Results<Created<NotificationRule>, NotFound, ValidationProblem, ProblemHttpResult>>
{
    public override void Configure()
    {
        Post("/");
        Group<RulesGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.NotificationRulesManage));
        Description(d => d.WithName("CreateNotificationRule").WithSummary("A rule selecting a channel by priority, type and time window."));
    }

    public override async Task<Results<Created<NotificationRule>, NotFound, ValidationProblem, ProblemHttpResult>> ExecuteAsync(
        RuleRequest request, CancellationToken ct)
    {
        var context = User.ToAgencyContext();
        var result = await grains.GetGrain<IAgencyGrain>(context.AgencyId).SaveNotificationRuleAsync(context, null, request.ToChanges());
        return ConfigurationAnswers.Created(result, rule => $"/api/v1/notification-rules/{rule.Id}");
    }
}

public sealed class ReplaceNotificationRule(IClusterClient grains, DispatchStore store)
    : Endpoint<ReplaceRuleRequest, Results<Ok<NotificationRule>, NotFound, ValidationProblem, ProblemHttpResult>>
{
    public override void Configure()
    {
        Put("/{id:guid}");
        Group<RulesGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.NotificationRulesManage));
        Description(d => d.WithName("ReplaceNotificationRule").WithSummary("Replace a rule."));
        DontThrowIfValidationFails(); // another agency's rule is not found, whatever the body says
    }

    public override async Task<Results<Ok<NotificationRule>, NotFound, ValidationProblem, ProblemHttpResult>> ExecuteAsync(
        ReplaceRuleRequest request, CancellationToken ct)
    {
        var context = User.ToAgencyContext();
        await using (var scope = await store.BeginAsync(context))
            if (await TransportConfiguration.RuleAsync(scope, request.Id) is null) return TypedResults.NotFound();
        if (ValidationFailed) return TypedResults.ValidationProblem(FastEndpointsSetup.Fields(ValidationFailures));
        var result = await grains.GetGrain<IAgencyGrain>(context.AgencyId).SaveNotificationRuleAsync(context, request.Id, request.ToChanges());
        return ConfigurationAnswers.Updated(result);
    }
}
