using System.Security.Claims;
using Dispatch.Api.Auth;
using Dispatch.Api.Http;
using Dispatch.Grains.Commands;
using Dispatch.Grains.Identity;
using Dispatch.Grains.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Dispatch.Api.Commands;

public static class CommandAcksApi
{
    public static IEndpointRouteBuilder MapCommandAcksApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/command/acks", PollAsync).WithTags("Command systems").WithName("PollAcknowledgements")
            .WithSummary("Company acknowledgements of the PSAP's incidents after a cursor, oldest first; pass back the returned cursor to continue.")
            .RequirePermission(Permissions.CommandAcksRead);
        app.MapGet("/api/v1/command-connections/{id:guid}/callbacks", ListCallbacksAsync).WithTags("Command connections")
            .WithName("ListCommandCallbacks")
            .WithSummary("A callback connection's deliveries, newest first; filter by status (queued, sending, delivered, dead_lettered).")
            .RequirePermission(Permissions.CommandConnectionsManage);
        return app;
    }

    public static async Task<Results<Ok<AckEventPage>, ValidationProblem>> PollAsync(string? after, int? limit, ClaimsPrincipal caller, DispatchStore store)
    {
        AckCursor? cursor = null;
        var errors = new Errors()
            .Check(string.IsNullOrEmpty(after) || AckCursor.TryParse(after, out cursor), "after", "after is a cursor returned by an earlier poll.")
            .Check(limit is null or (>= 1 and <= CommandAcks.MaxPageSize), "limit", $"limit must be between 1 and {CommandAcks.MaxPageSize}.");
        if (errors.Any) return TypedResults.ValidationProblem(errors.ToDictionary());
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        return TypedResults.Ok(await CommandAcks.PollAsync(scope, cursor, limit ?? 100));
    }

    public static async Task<Results<Ok<Page<CallbackView>>, NotFound, ValidationProblem>> ListCallbacksAsync(Guid id, string? status, int? page, int? pageSize,
        ClaimsPrincipal caller, DispatchStore store)
    {
        if (!Paging.TryCreate(page, pageSize, out var paging, out var errors)) return TypedResults.ValidationProblem(errors);
        if (status is not (null or "queued" or "sending" or "delivered" or "dead_lettered"))
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["status"] = ["status is one of queued, sending, delivered, dead_lettered."] });
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        if (await CommandCallbacks.ListAsync(scope, id, status, paging.Offset, paging.PageSize) is not { } list) return TypedResults.NotFound();
        return TypedResults.Ok(new Page<CallbackView>(list.Items, paging.Page, paging.PageSize, list.Total));
    }
}
