using System.Security.Claims;
using Dispatch.Api.Auth;
using Dispatch.Api.Http;
using Dispatch.Grains.Identity;
using Dispatch.Grains.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Dispatch.Api.Identity;

public static class AgenciesApi
{
    public static IEndpointRouteBuilder MapAgenciesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/agencies").WithTags("Agencies");
        api.MapGet("/", ListAsync).WithName("ListAgencies").WithSummary("The caller's agency and the agencies it is linked with.")
            .RequirePermission(Permissions.AgenciesRead);
        api.MapGet("/{id:guid}", GetAsync).WithName("GetAgency").WithSummary("One visible agency.")
            .RequirePermission(Permissions.AgenciesRead);
        api.MapPost("/", OnboardCompanyAsync).WithName("OnboardCompany")
            .WithSummary("A PSAP onboards a company it works with: the company, the link and the company's first admin.")
            .RequirePermission(Permissions.AgenciesManage);
        api.MapPatch("/{id:guid}", UpdateAsync).WithName("UpdateAgency")
            .WithSummary("Rename an agency or change its time zone: the agency itself, or the PSAP that onboarded it.")
            .RequirePermission(Permissions.AgenciesManage);
        api.MapPost("/{id:guid}/deactivate", DeactivateAsync).WithName("DeactivateAgency")
            .WithSummary("A PSAP deactivates a company it onboarded: its users and keys stop working.")
            .RequirePermission(Permissions.AgenciesManage);
        return app;
    }

    public static async Task<Results<Ok<Page<Agency>>, ValidationProblem>> ListAsync(int? page, int? pageSize, ClaimsPrincipal caller, DispatchStore store)
    {
        if (!Paging.TryCreate(page, pageSize, out var paging, out var errors)) return TypedResults.ValidationProblem(errors);
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        var agencies = await Agencies.ListAsync(scope, paging.Offset, paging.PageSize);
        return TypedResults.Ok(new Page<Agency>(agencies, paging.Page, paging.PageSize, await Agencies.CountAsync(scope)));
    }

    public static async Task<Results<Ok<Agency>, NotFound>> GetAsync(Guid id, ClaimsPrincipal caller, DispatchStore store)
    {
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        return await Agencies.GetAsync(scope, id) is { } agency ? TypedResults.Ok(agency) : TypedResults.NotFound();
    }

    public static async Task<Results<Created<OnboardedCompany>, ValidationProblem, ProblemHttpResult>> OnboardCompanyAsync(
        NewCompanyRequest request, ClaimsPrincipal caller, DispatchStore store, TimeProvider time)
    {
        if (caller.AgencyType() != AgencyType.Psap)
            return Problems.Forbidden("Only a PSAP onboards companies.");
        if (request.Validate() is { Any: true } errors) return TypedResults.ValidationProblem(errors.ToDictionary());
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        try
        {
            var (company, adminId) = await Agencies.OnboardCompanyAsync(scope, request.ToNewCompany(), time.GetUtcNow());
            await scope.CommitAsync();
            return TypedResults.Created($"/api/v1/agencies/{company.Id}", new OnboardedCompany(company, adminId));
        }
        catch (DuplicateException e)
        {
            return Problems.Conflict(e.Message);
        }
    }

    public static async Task<Results<Ok<Agency>, NotFound, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        Guid id, UpdateAgencyRequest request, ClaimsPrincipal caller, DispatchStore store, TimeProvider time)
    {
        if (request.Validate() is { Any: true } errors) return TypedResults.ValidationProblem(errors.ToDictionary());
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        try
        {
            if (await Agencies.UpdateAsync(scope, id, new AgencyChanges(request.Name?.Trim(), request.Timezone), time.GetUtcNow()) is not { } agency)
                return TypedResults.NotFound();
            await scope.CommitAsync();
            return TypedResults.Ok(agency);
        }
        catch (UnauthorizedAccessException e)
        {
            return Problems.Forbidden(e.Message);
        }
    }

    public static async Task<Results<Ok<Agency>, NotFound, ProblemHttpResult>> DeactivateAsync(
        Guid id, ClaimsPrincipal caller, DispatchStore store, TimeProvider time)
    {
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        try
        {
            if (await Agencies.DeactivateAsync(scope, id, time.GetUtcNow()) is not { } agency) return TypedResults.NotFound();
            await scope.CommitAsync();
            return TypedResults.Ok(agency);
        }
        catch (UnauthorizedAccessException e)
        {
            return Problems.Forbidden(e.Message);
        }
    }
}
