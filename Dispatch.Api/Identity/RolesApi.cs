using System.Security.Claims;
using Dispatch.Api.Auth;
using Dispatch.Api.Http;
using Dispatch.Grains.Identity;
using Dispatch.Grains.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Dispatch.Api.Identity;

public static class RolesApi
{
    public static IEndpointRouteBuilder MapRolesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/roles").WithTags("Roles");
        api.MapGet("/", ListAsync).WithName("ListRoles").WithSummary("Built-in roles for the caller's agency type and its custom roles.")
            .RequirePermission(Permissions.UsersRead);
        api.MapGet("/{id:guid}", GetAsync).WithName("GetRole").WithSummary("One role.").RequirePermission(Permissions.UsersRead);
        api.MapPost("/", CreateAsync).WithName("CreateRole").WithSummary("A custom role with a set of permissions.")
            .RequirePermission(Permissions.RolesManage);
        api.MapPatch("/{id:guid}", UpdateAsync).WithName("UpdateRole").WithSummary("Rename a custom role or change its permissions.")
            .RequirePermission(Permissions.RolesManage);
        api.MapDelete("/{id:guid}", DeleteAsync).WithName("DeleteRole").WithSummary("Delete a custom role nobody holds.")
            .RequirePermission(Permissions.RolesManage);
        return app;
    }

    public static async Task<Results<Ok<Page<Role>>, ValidationProblem>> ListAsync(int? page, int? pageSize, ClaimsPrincipal caller, DispatchStore store)
    {
        if (!Paging.TryCreate(page, pageSize, out var paging, out var errors)) return TypedResults.ValidationProblem(errors);
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        return TypedResults.Ok(paging.Of(await Roles.ListAsync(scope)));
    }

    public static async Task<Results<Ok<Role>, NotFound>> GetAsync(Guid id, ClaimsPrincipal caller, DispatchStore store)
    {
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        return await Roles.GetAsync(scope, id) is { } role ? TypedResults.Ok(role) : TypedResults.NotFound();
    }

    public static async Task<Results<Created<Role>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        RoleRequest request, ClaimsPrincipal caller, DispatchStore store, TimeProvider time)
    {
        if (request.Validate(caller.AgencyType(), creating: true) is { Any: true } errors) return TypedResults.ValidationProblem(errors.ToDictionary());
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        try
        {
            var role = await Roles.CreateAsync(scope, request.Name!.Trim(), request.Slug!, request.Permissions!, time.GetUtcNow());
            await scope.CommitAsync();
            return TypedResults.Created($"/api/v1/roles/{role.Id}", role);
        }
        catch (DuplicateException e)
        {
            return Problems.Conflict(e.Message);
        }
    }

    public static async Task<Results<Ok<Role>, NotFound, ValidationProblem>> UpdateAsync(
        Guid id, RoleRequest request, ClaimsPrincipal caller, DispatchStore store, TimeProvider time)
    {
        if (request.Validate(caller.AgencyType(), creating: false) is { Any: true } errors) return TypedResults.ValidationProblem(errors.ToDictionary());
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        if (await Roles.UpdateAsync(scope, id, request.Name?.Trim(), request.Permissions, time.GetUtcNow()) is not { } role)
            return TypedResults.NotFound();
        await scope.CommitAsync();
        return TypedResults.Ok(role);
    }

    public static async Task<Results<NoContent, NotFound, ProblemHttpResult>> DeleteAsync(Guid id, ClaimsPrincipal caller, DispatchStore store)
    {
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        switch (await Roles.DeleteAsync(scope, id))
        {
            case null: return TypedResults.NotFound();
            case false:
                return Problems.Conflict("Users still hold this role.");
            default:
                await scope.CommitAsync();
                return TypedResults.NoContent();
        }
    }
}
