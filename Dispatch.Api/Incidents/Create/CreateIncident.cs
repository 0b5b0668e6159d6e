using System.Diagnostics;
using FastEndpoints;
using FluentValidation;

namespace Dispatch.Api.Incidents.Create;

public sealed class CreateIncidentRequest
{
    public string? Priority { get; set; }
    public string? Title { get; set; }
    public string? Description { get; set; }
    public string? Address { get; set; }
    public string? IncidentType { get; set; }
    public IReadOnlyList<Guid>? AgencyIds { get; set; }

    /// <summary>A retry with the same key answers with the incident the first attempt created (1–255 visible ASCII characters).</summary>
    [FromHeader(Incidents.IdempotencyKey.Header, isRequired: false)]
    public string? IdempotencyKey { get; set; }
}

public sealed class CreateIncidentValidator : Validator<CreateIncidentRequest>
{
    public CreateIncidentValidator()
    {
        RuleFor(r => r.Priority).Must(IncidentPriority.IsValid).WithMessage("priority is one of irod, critical, dangerous, routine_special.");
        RuleFor(r => r.Title).Must(t => !string.IsNullOrWhiteSpace(t) && t.Length <= 200).WithMessage("title is required (at most 200 characters).");
        RuleFor(r => r.Description).Must(d => (d?.Length ?? 0) <= 10_000).WithMessage("description is at most 10000 characters.");
        RuleFor(r => r.Address).Must(a => (a?.Length ?? 0) <= 500).WithMessage("address is at most 500 characters.");
        RuleFor(r => r.IncidentType).Must(t => t is null || Endpoints.IsSlug(t)).WithMessage("incidentType is a lower-case slug such as gas-leak.");
        RuleFor(r => r.AgencyIds).AtMost("agencyIds");
        RuleFor(r => r.IdempotencyKey).Must(k => k is null || Incidents.IdempotencyKey.IsValid(k))
            .OverridePropertyName(Incidents.IdempotencyKey.Header).WithMessage("Idempotency-Key is 1 to 255 visible ASCII characters.");
    }
}

/// <summary>Raise an incident and notify its companies: the incident's grain records it and its first notifications at once.</summary>
public sealed class CreateIncident(IClusterClient grains)
    : Endpoint<CreateIncidentRequest, Results<Created<IncidentDetail>, ValidationProblem, ProblemHttpResult>>
{
    public override void Configure()
    {
        Post("/");
        Group<IncidentsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.IncidentsCreate));
        Description(d => d.ProducesProblem(StatusCodes.Status409Conflict).WithName("CreateIncident")
            .WithSummary("Raise an incident and notify its companies (a dispatcher, or a command system with its key)."));
    }

    public override async Task<Results<Created<IncidentDetail>, ValidationProblem, ProblemHttpResult>> ExecuteAsync(
        CreateIncidentRequest request, CancellationToken ct)
    {
        var context = User.ToAgencyContext();
        var id = request.IdempotencyKey is null ? Guid.CreateVersion7() : Incidents.IdempotencyKey.IncidentId(context.AgencyId, request.IdempotencyKey);
        var draft = new IncidentDraft(request.Priority!, request.Title!.Trim(), request.Description?.Trim() ?? "", request.Address?.Trim(),
            request.IncidentType, (request.AgencyIds ?? []).Distinct().ToList(), Activity.Current?.Id);
        var result = await grains.GetGrain<IIncidentGrain>(id).CreateAsync(context, draft);
        if (result.Outcome == CommandOutcome.Replayed) HttpContext.Response.Headers[Incidents.IdempotencyKey.ReplayedHeader] = "true";
        return result.Outcome switch
        {
            CommandOutcome.Invalid => Problems.Field(result.Field!, result.Message!),
            CommandOutcome.Conflict => Problems.Conflict(result.Message!),
            _ => TypedResults.Created($"/api/v1/incidents/{id}", result.Detail),
        };
    }
}
