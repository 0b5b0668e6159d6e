using FastEndpoints;
using FluentValidation;

namespace Dispatch.Api.Identity.Agencies;

/// <summary><c>/api/v1/agencies</c>: the caller's agency and the companies a PSAP works with.</summary>
public sealed class AgenciesGroup : Group
{
    public AgenciesGroup() => Configure("/api/v1/agencies", ep => ep.Description(d => d.WithTags("Agencies")));
}

public sealed class ListAgencies(DispatchStore store) : Endpoint<PageRequest, Ok<Page<Agency>>>
{
    public override void Configure()
    {
        Get("/");
        Group<AgenciesGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.AgenciesRead));
        Description(d => d.WithName("ListAgencies").WithSummary("The caller's agency and the agencies it is linked with."));
    }

    public override async Task<Ok<Page<Agency>>> ExecuteAsync(PageRequest request, CancellationToken ct)
    {
        var paging = request.ToPaging();
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        var agencies = await Grains.Identity.Agencies.ListAsync(scope, paging.Offset, paging.PageSize);
        return TypedResults.Ok(new Page<Agency>(agencies, paging.Page, paging.PageSize, await Grains.Identity.Agencies.CountAsync(scope)));
    }
}

public sealed class GetAgency(DispatchStore store) : Endpoint<IdRoute, Results<Ok<Agency>, NotFound>>
{
    public override void Configure()
    {
        Get("/{id:guid}");
        Group<AgenciesGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.AgenciesRead));
        Description(d => d.WithName("GetAgency").WithSummary("One visible agency."));
    }

    public override async Task<Results<Ok<Agency>, NotFound>> ExecuteAsync(IdRoute request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        return await Grains.Identity.Agencies.GetAsync(scope, request.Id) is { } agency ? TypedResults.Ok(agency) : TypedResults.NotFound();
    }
}

public sealed class OnboardCompanyRequest
{
    public string? Name { get; set; }
    public string? Slug { get; set; }
    public string? Timezone { get; set; }
    public NewUserRequest? Admin { get; set; }

    public NewCompany ToNewCompany() => new(Name!.Trim(), Slug ?? Bootstrapper.Slugify(Name!), Timezone ?? "UTC", Admin!.ToNewUser());
}

public sealed class OnboardCompanyValidator : Validator<OnboardCompanyRequest>
{
    public OnboardCompanyValidator()
    {
        RuleFor(r => r.Name).Must(n => !string.IsNullOrWhiteSpace(n)).WithMessage("name is required.");
        RuleFor(r => r.Slug).Must(s => s is null || Endpoints.IsSlug(s)).WithMessage("slug is lower-case letters, digits and single dashes.");
        RuleFor(r => r.Timezone).Must(z => z is null || IdentityRules.IsTimezone(z)).WithMessage("timezone must be an IANA time zone such as America/Chicago.");
        RuleFor(r => r.Admin).NotNull().WithMessage("admin (the company's first admin user) is required.");
        RuleFor(r => r.Admin!).SetValidator(new NewUserRules(roleRequired: false)).When(r => r.Admin is not null);
    }
}

public sealed record OnboardedCompany(Agency Agency, Guid AdminUserId);

public sealed class OnboardCompany(DispatchStore store, TimeProvider time)
    : Endpoint<OnboardCompanyRequest, Results<Created<OnboardedCompany>, ValidationProblem, ProblemHttpResult>>
{
    public override void Configure()
    {
        Post("/");
        Group<AgenciesGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.AgenciesManage));
        Description(d => d.ProducesProblem(StatusCodes.Status409Conflict).WithName("OnboardCompany")
            .WithSummary("A PSAP onboards a company it works with: the company, the link and the company's first admin."));
        DontThrowIfValidationFails(); // only a PSAP onboards, whatever the body says
    }

    public override async Task<Results<Created<OnboardedCompany>, ValidationProblem, ProblemHttpResult>> ExecuteAsync(
        OnboardCompanyRequest request, CancellationToken ct)
    {
        if (User.AgencyType() != AgencyType.Psap) return Problems.Forbidden("Only a PSAP onboards companies.");
        if (ValidationFailed) return TypedResults.ValidationProblem(FastEndpointsSetup.Fields(ValidationFailures));
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        try
        {
            var (company, adminId) = await Grains.Identity.Agencies.OnboardCompanyAsync(scope, request.ToNewCompany(), time.GetUtcNow());
            await scope.CommitAsync();
            return TypedResults.Created($"/api/v1/agencies/{company.Id}", new OnboardedCompany(company, adminId));
        }
        catch (DuplicateException e)
        {
            return Problems.Conflict(e.Message);
        }
    }
}

public sealed class UpdateAgencyRequest
{
    public Guid Id { get; set; }
    public string? Name { get; set; }
    public string? Timezone { get; set; }
}

public sealed class UpdateAgencyValidator : Validator<UpdateAgencyRequest>
{
    public UpdateAgencyValidator()
    {
        RuleFor(r => r.Name).Must(n => n is null || n.Trim().Length > 0).WithMessage("name cannot be blank.");
        RuleFor(r => r.Timezone).Must(z => z is null || IdentityRules.IsTimezone(z)).WithMessage("timezone must be an IANA time zone such as America/Chicago.");
    }
}

public sealed class UpdateAgency(DispatchStore store, TimeProvider time)
    : Endpoint<UpdateAgencyRequest, Results<Ok<Agency>, NotFound, ValidationProblem, ProblemHttpResult>>
{
    public override void Configure()
    {
        Patch("/{id:guid}");
        Group<AgenciesGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.AgenciesManage));
        Description(d => d.WithName("UpdateAgency")
            .WithSummary("Rename an agency or change its time zone: the agency itself, or the PSAP that onboarded it."));
    }

    public override async Task<Results<Ok<Agency>, NotFound, ValidationProblem, ProblemHttpResult>> ExecuteAsync(
        UpdateAgencyRequest request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        try
        {
            var changes = new AgencyChanges(request.Name?.Trim(), request.Timezone);
            if (await Grains.Identity.Agencies.UpdateAsync(scope, request.Id, changes, time.GetUtcNow()) is not { } agency) return TypedResults.NotFound();
            await scope.CommitAsync();
            return TypedResults.Ok(agency);
        }
        catch (UnauthorizedAccessException e)
        {
            return Problems.Forbidden(e.Message);
        }
    }
}

public sealed class DeactivateAgency(DispatchStore store, TimeProvider time) : Endpoint<IdRoute, Results<Ok<Agency>, NotFound, ProblemHttpResult>>
{
    public override void Configure()
    {
        Post("/{id:guid}/deactivate");
        Group<AgenciesGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.AgenciesManage));
        Description(d => d.WithName("DeactivateAgency").WithSummary("A PSAP deactivates a company it onboarded: its users and keys stop working."));
    }

    public override async Task<Results<Ok<Agency>, NotFound, ProblemHttpResult>> ExecuteAsync(IdRoute request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        try
        {
            if (await Grains.Identity.Agencies.DeactivateAsync(scope, request.Id, time.GetUtcNow()) is not { } agency) return TypedResults.NotFound();
            await scope.CommitAsync();
            return TypedResults.Ok(agency);
        }
        catch (UnauthorizedAccessException e)
        {
            return Problems.Forbidden(e.Message);
        }
    }
}
