using System.Diagnostics;
using FastEndpoints;
using FluentValidation;

namespace Dispatch.Api.Incidents.Assign;

public sealed class AssignCompaniesRequest : IdRoute
{
    public IReadOnlyList<Guid>? AgencyIds { get; set; }
}

public sealed class AssignCompaniesValidator : Validator<AssignCompaniesRequest>
{
    public AssignCompaniesValidator()
    {
        RuleFor(r => r.AgencyIds).Must(ids => ids is { Count: > 0 }).WithMessage("agencyIds lists at least one company.");
        RuleFor(r => r.AgencyIds).AtMost("agencyIds");
    }
}

public sealed class AssignCompanies(IClusterClient grains, DispatchStore store)
    : Endpoint<AssignCompaniesRequest, Results<Ok<IncidentDetail>, NotFound, ValidationProblem, ProblemHttpResult>>
{
    public override void Configure()
    {
        Post("/{id:guid}/agencies");
        Group<IncidentsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.IncidentsManage));
        Description(d => d.ProducesProblem(StatusCodes.Status409Conflict).WithName("AssignCompanies").WithSummary("Add companies to an incident; they are notified at once."));
        DontThrowIfValidationFails(); // an incident the caller cannot manage is not found, whatever the body says
    }

    public override async Task<Results<Ok<IncidentDetail>, NotFound, ValidationProblem, ProblemHttpResult>> ExecuteAsync(
        AssignCompaniesRequest request, CancellationToken ct)
    {
        var context = User.ToAgencyContext();
        var companies = ValidationFailed ? [] : request.AgencyIds!.Distinct().ToList();
        AssignmentCheck check;
        await using (var scope = await store.BeginAsync(context)) check = await IncidentViews.CheckAssignmentAsync(scope, request.Id, companies);
        if (!check.Owned) return TypedResults.NotFound();
        if (ValidationFailed) return TypedResults.ValidationProblem(FastEndpointsSetup.Fields(ValidationFailures));
        if (check.FirstUnassignable is { } refused) return Problems.Field("agencyIds", NotAssignableException.Because(refused));
        return IncidentAnswers.Answer(await grains.GetGrain<IIncidentGrain>(request.Id).AssignAsync(context, companies, Activity.Current?.Id));
    }
}
