using System.Security.Claims;
using Dispatch.Api.Auth;
using Dispatch.Api.Http;
using Dispatch.Grains.Identity;
using Dispatch.Grains.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Dispatch.Api.Identity;

public static class UsersApi
{
    public static IEndpointRouteBuilder MapUsersApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/users").WithTags("Users");
        api.MapGet("/", ListAsync).WithName("ListUsers").WithSummary("Users of the caller's agency.")
            .RequirePermission(Permissions.UsersRead);
        api.MapGet("/{id:guid}", GetAsync).WithName("GetUser").WithSummary("One user of the caller's agency.")
            .RequirePermission(Permissions.UsersRead);
        api.MapPost("/", CreateAsync).WithName("CreateUser").WithSummary("Add a user to the caller's agency.")
            .RequirePermission(Permissions.UsersManage);
        api.MapPatch("/{id:guid}", UpdateAsync).WithName("UpdateUser").WithSummary("Change a user's name, role or password.")
            .RequirePermission(Permissions.UsersManage);
        api.MapPost("/{id:guid}/deactivate", DeactivateAsync).WithName("DeactivateUser")
            .WithSummary("Stop a user: no more logins, refresh tokens revoked.").RequirePermission(Permissions.UsersManage);
        return app;
    }

    public static async Task<Results<Ok<Page<User>>, ValidationProblem>> ListAsync(int? page, int? pageSize, ClaimsPrincipal caller, DispatchStore store)
    {
        if (!Paging.TryCreate(page, pageSize, out var paging, out var errors)) return TypedResults.ValidationProblem(errors);
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        var users = await Users.ListAsync(scope, paging.Offset, paging.PageSize);
        return TypedResults.Ok(new Page<User>(users, paging.Page, paging.PageSize, await Users.CountAsync(scope)));
    }

    public static async Task<Results<Ok<User>, NotFound>> GetAsync(Guid id, ClaimsPrincipal caller, DispatchStore store)
    {
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        return await Users.GetAsync(scope, id) is { } user ? TypedResults.Ok(user) : TypedResults.NotFound();
    }

    public static async Task<Results<Created<User>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        NewUserRequest request, ClaimsPrincipal caller, DispatchStore store, TimeProvider time)
    {
        if (request.Validate() is { Any: true } errors) return TypedResults.ValidationProblem(errors.ToDictionary());
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        try
        {
            var id = await Users.CreateAsync(scope, scope.Context.AgencyId, request.ToNewUser(), time.GetUtcNow());
            var user = (await Users.GetAsync(scope, id))!;
            await scope.CommitAsync();
            return TypedResults.Created($"/api/v1/users/{id}", user);
        }
        catch (UnknownReferenceException e)
        {
            return Problems.Field(e.Field, e.Message);
        }
        catch (DuplicateException e)
        {
            return Problems.Conflict(e.Message);
        }
    }

    public static async Task<Results<Ok<User>, NotFound, ValidationProblem>> UpdateAsync(
        Guid id, UpdateUserRequest request, ClaimsPrincipal caller, DispatchStore store, TimeProvider time)
    {
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        if (await Users.GetAsync(scope, id) is not { } existing) return TypedResults.NotFound();
        if (request.Validate(existing.Email) is { Any: true } errors) return TypedResults.ValidationProblem(errors.ToDictionary());
        try
        {
            var user = await Users.UpdateAsync(scope, id,
                new UserChanges(request.FirstName?.Trim(), request.LastName?.Trim(), request.RoleId, request.Password), time.GetUtcNow());
            await scope.CommitAsync();
            return TypedResults.Ok(user!);
        }
        catch (UnknownReferenceException e)
        {
            return Problems.Field(e.Field, e.Message);
        }
    }

    public static async Task<Results<Ok<User>, NotFound>> DeactivateAsync(Guid id, ClaimsPrincipal caller, DispatchStore store, TimeProvider time)
    {
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        if (await Users.DeactivateAsync(scope, id, time.GetUtcNow()) is not { } user) return TypedResults.NotFound();
        await scope.CommitAsync();
        return TypedResults.Ok(user);
    }
}
