using System.Security.Claims;
using Dispatch.Api.Auth;
using Dispatch.Api.Http;
using Dispatch.Grains.Identity;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Transports;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Dispatch.Api.Identity;

public static class CommandConnectionsApi
{
    public static IEndpointRouteBuilder MapCommandConnectionsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/command-connections").WithTags("Command connections");
        api.MapGet("/", ListAsync).WithName("ListCommandConnections").WithSummary("The PSAP's CAD system connections.")
            .RequirePermission(Permissions.CommandConnectionsManage);
        api.MapGet("/{id:guid}", GetAsync).WithName("GetCommandConnection").WithSummary("One connection.")
            .RequirePermission(Permissions.CommandConnectionsManage);
        api.MapPost("/", CreateAsync).WithName("CreateCommandConnection")
            .WithSummary("Connect a CAD system: its API key and callback secret are in this response only.")
            .RequirePermission(Permissions.CommandConnectionsManage);
        api.MapPatch("/{id:guid}", UpdateAsync).WithName("UpdateCommandConnection").WithSummary("Rename, or change how acknowledgements reach it.")
            .RequirePermission(Permissions.CommandConnectionsManage);
        api.MapDelete("/{id:guid}", DeactivateAsync).WithName("DeactivateCommandConnection").WithSummary("Disconnect: its key stops working.")
            .RequirePermission(Permissions.CommandConnectionsManage);
        return app;
    }

    public static async Task<Results<Ok<Page<CommandConnection>>, ValidationProblem>> ListAsync(int? page, int? pageSize, ClaimsPrincipal caller, DispatchStore store)
    {
        if (!Paging.TryCreate(page, pageSize, out var paging, out var errors)) return TypedResults.ValidationProblem(errors);
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        return TypedResults.Ok(paging.Of(await CommandConnections.ListAsync(scope)));
    }

    public static async Task<Results<Ok<CommandConnection>, NotFound>> GetAsync(Guid id, ClaimsPrincipal caller, DispatchStore store)
    {
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        return await CommandConnections.GetAsync(scope, id) is { } connection ? TypedResults.Ok(connection) : TypedResults.NotFound();
    }

    public static async Task<Results<Created<CreatedCommandConnection>, ValidationProblem>> CreateAsync(
        CommandConnectionRequest request, ClaimsPrincipal caller, DispatchStore store, TimeProvider time, IHostEnvironment environment,
        OutboundPolicy outbound)
    {
        if (request.Validate(creating: true, environment.IsDevelopment()) is { Any: true } errors)
            return TypedResults.ValidationProblem(errors.ToDictionary());
        if (await request.CheckDestinationAsync(outbound) is { } refused) return refused;
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        var (connection, secrets) = await CommandConnections.CreateAsync(scope, request.Name!.Trim(), request.AckMode ?? AckMode.Poll,
            request.PublicUrl, time.GetUtcNow());
        await scope.CommitAsync();
        return TypedResults.Created($"/api/v1/command-connections/{connection.Id}",
            new CreatedCommandConnection(connection, secrets.ApiKey, secrets.CallbackSecret));
    }

    public static async Task<Results<Ok<CommandConnection>, NotFound, ValidationProblem>> UpdateAsync(
        Guid id, CommandConnectionRequest request, ClaimsPrincipal caller, DispatchStore store, TimeProvider time, IHostEnvironment environment,
        OutboundPolicy outbound)
    {
        if (request.Validate(creating: false, environment.IsDevelopment()) is { Any: true } errors)
            return TypedResults.ValidationProblem(errors.ToDictionary());
        if (await request.CheckDestinationAsync(outbound) is { } refused) return refused;
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        if (await CommandConnections.GetAsync(scope, id) is not { } existing) return TypedResults.NotFound();
        if (request.AckMode == AckMode.Callback && request.PublicUrl is null && existing.PublicUrl is null)
            return Problems.Field("publicUrl", "publicUrl is required for callbacks.");
        var connection = await CommandConnections.UpdateAsync(scope, id, request.Name?.Trim(), request.AckMode, request.PublicUrl, time.GetUtcNow());
        await scope.CommitAsync();
        return TypedResults.Ok(connection!);
    }

    public static async Task<Results<NoContent, NotFound>> DeactivateAsync(Guid id, ClaimsPrincipal caller, DispatchStore store, TimeProvider time)
    {
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        if (await CommandConnections.DeactivateAsync(scope, id, time.GetUtcNow()) is null) return TypedResults.NotFound();
        await scope.CommitAsync();
        return TypedResults.NoContent();
    }
}
