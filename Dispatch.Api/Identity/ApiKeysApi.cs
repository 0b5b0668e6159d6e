using System.Security.Claims;
using Dispatch.Api.Auth;
using Dispatch.Api.Http;
using Dispatch.Grains.Identity;
using Dispatch.Grains.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Dispatch.Api.Identity;

public static class ApiKeysApi
{
    public static IEndpointRouteBuilder MapApiKeysApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/api-keys").WithTags("API keys");
        api.MapGet("/", ListAsync).WithName("ListApiKeys").WithSummary("The agency's API keys (prefix only; the key is never shown again).")
            .RequirePermission(Permissions.ApiKeysManage);
        api.MapPost("/", CreateAsync).WithName("CreateApiKey")
            .WithSummary("A new key carrying some of the caller's permissions as scopes; the response is the only time it is shown.")
            .RequirePermission(Permissions.ApiKeysManage);
        api.MapDelete("/{id:guid}", RevokeAsync).WithName("RevokeApiKey").WithSummary("Revoke a key at once.")
            .RequirePermission(Permissions.ApiKeysManage);
        return app;
    }

    public static async Task<Results<Ok<Page<ApiKey>>, ValidationProblem>> ListAsync(int? page, int? pageSize, ClaimsPrincipal caller, DispatchStore store)
    {
        if (!Paging.TryCreate(page, pageSize, out var paging, out var errors)) return TypedResults.ValidationProblem(errors);
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        return TypedResults.Ok(paging.Of(await ApiKeys.ListAsync(scope)));
    }

    public static async Task<Results<Created<CreatedApiKey>, ValidationProblem>> CreateAsync(
        NewApiKeyRequest request, ClaimsPrincipal caller, DispatchStore store, TimeProvider time)
    {
        var now = time.GetUtcNow();
        if (request.Validate(caller.Permissions(), now) is { Any: true } errors) return TypedResults.ValidationProblem(errors.ToDictionary());
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        var (key, secret) = await ApiKeys.CreateAsync(scope, request.Name!.Trim(), request.Scopes!, request.ExpiresAt, now);
        await scope.CommitAsync();
        return TypedResults.Created($"/api/v1/api-keys/{key.Id}", new CreatedApiKey(key, secret));
    }

    public static async Task<Results<NoContent, NotFound>> RevokeAsync(Guid id, ClaimsPrincipal caller, DispatchStore store, TimeProvider time)
    {
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        if (await ApiKeys.RevokeAsync(scope, id, time.GetUtcNow()) is null) return TypedResults.NotFound();
        await scope.CommitAsync();
        return TypedResults.NoContent();
    }
}
