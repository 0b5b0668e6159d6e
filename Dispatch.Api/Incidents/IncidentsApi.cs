using System.Diagnostics;
using System.Security.Claims;
using Dispatch.Api.Auth;
using Dispatch.Api.Http;
using Dispatch.Grains.Identity;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Notifications;
using Dispatch.Grains.Routing;
using Dispatch.Grains.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Dispatch.Api.Incidents;

public static class IncidentsApi
{
    public static IEndpointRouteBuilder MapIncidentsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/incidents").WithTags("Incidents");
        api.MapPost("/", CreateAsync).WithName("CreateIncident")
            .WithSummary("Raise an incident and notify its companies (a dispatcher, or a command system with its key).")
            .RequirePermission(Permissions.IncidentsCreate);
        api.MapGet("/", ListAsync).WithName("ListIncidents")
            .WithSummary("Incidents the caller may see, newest first; filter by status, priority, company and creation time.")
            .RequirePermission(Permissions.IncidentsRead);
        api.MapGet("/{id:guid}", GetAsync).WithName("GetIncident")
            .WithSummary("An incident with each company's acknowledgement, notifications and deliveries.")
            .RequirePermission(Permissions.IncidentsRead);
        api.MapGet("/{id:guid}/communications", CommunicationsAsync).WithName("ListIncidentCommunications")
            .WithSummary("The incident's append-only log, oldest first: every message, acknowledgement, escalation and alert (a company sees its own).")
            .RequirePermission(Permissions.IncidentsRead);
        api.MapPost("/{id:guid}/agencies", AssignAsync).WithName("AssignCompanies").WithSummary("Add companies to an incident; they are notified at once.")
            .RequirePermission(Permissions.IncidentsManage);
        api.MapPost("/{id:guid}/ack", AcknowledgeAsync).WithName("AcknowledgeIncident")
            .WithSummary("A company user acknowledges the incident for their company; repeating it reports the first acknowledgement.")
            .RequirePermission(Permissions.IncidentsAck);
        api.MapPost("/{id:guid}/resolve", ResolveAsync).WithName("ResolveIncident").WithSummary("Mark the incident resolved.")
            .RequirePermission(Permissions.IncidentsManage);
        api.MapPost("/{id:guid}/close", CloseAsync).WithName("CloseIncident").WithSummary("Close a resolved incident.")
            .RequirePermission(Permissions.IncidentsManage);
        return app;
    }

    public static async Task<Results<Created<IncidentDetail>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        NewIncidentRequest request, [FromHeader(Name = IdempotencyKey.Header)] string? idempotencyKey, ClaimsPrincipal caller,
        IClusterClient grains, HttpResponse response)
    {
        if (request.Validate() is { Any: true } errors) return TypedResults.ValidationProblem(errors.ToDictionary());
        if (idempotencyKey is not null && !IdempotencyKey.IsValid(idempotencyKey))
            return Problems.Field(IdempotencyKey.Header, "Idempotency-Key is 1 to 255 visible ASCII characters.");
        var context = caller.ToAgencyContext();
        var id = idempotencyKey is null ? Guid.CreateVersion7() : IdempotencyKey.IncidentId(context.AgencyId, idempotencyKey);
        var draft = new IncidentDraft(request.Priority!, request.Title!.Trim(), request.Description?.Trim() ?? "", request.Address?.Trim(),
            request.IncidentType, request.AgencyIds ?? [], Activity.Current?.Id);
        var result = await grains.GetGrain<IIncidentGrain>(id).CreateAsync(context, draft);
        if (result.Outcome == CommandOutcome.Replayed) response.Headers[IdempotencyKey.ReplayedHeader] = "true";
        return result.Outcome switch
        {
            CommandOutcome.Invalid => Problems.Field(result.Field!, result.Message!),
            CommandOutcome.Conflict => Problems.Conflict(result.Message!),
            _ => TypedResults.Created($"/api/v1/incidents/{id}", result.Detail),
        };
    }

    public static async Task<Results<Ok<Page<IncidentSummary>>, ValidationProblem>> ListAsync(
        int? page, int? pageSize, string? status, string? priority, Guid? companyId, DateTimeOffset? from, DateTimeOffset? to,
        ClaimsPrincipal caller, DispatchStore store)
    {
        if (!Paging.TryCreate(page, pageSize, out var paging, out var errors)) return TypedResults.ValidationProblem(errors);
        var filterErrors = new Errors()
            .Check(status is null or IncidentStatus.Open or IncidentStatus.Acknowledged or IncidentStatus.Resolved or IncidentStatus.Closed,
                "status", "status is one of open, acknowledged, resolved, closed.")
            .Check(priority is null || IncidentPriority.IsValid(priority), "priority", "priority is one of irod, critical, dangerous, routine_special.");
        if (filterErrors.Any) return TypedResults.ValidationProblem(filterErrors.ToDictionary());
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        var (items, total) = await IncidentViews.ListAsync(scope, new IncidentFilter(status, priority, companyId, from, to), paging.Offset, paging.PageSize);
        return TypedResults.Ok(new Page<IncidentSummary>(items, paging.Page, paging.PageSize, total));
    }

    public static async Task<Results<Ok<IncidentDetail>, NotFound>> GetAsync(Guid id, ClaimsPrincipal caller, DispatchStore store)
    {
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        return await IncidentViews.GetAsync(scope, id) is { } detail ? TypedResults.Ok(detail) : TypedResults.NotFound();
    }

    public static async Task<Results<Ok<Page<CommunicationView>>, NotFound, ValidationProblem>> CommunicationsAsync(
        Guid id, int? page, int? pageSize, ClaimsPrincipal caller, DispatchStore store)
    {
        if (!Paging.TryCreate(page, pageSize, out var paging, out var errors)) return TypedResults.ValidationProblem(errors);
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        if (await CommunicationLog.ListAsync(scope, id, paging.Offset, paging.PageSize) is not { } log) return TypedResults.NotFound();
        return TypedResults.Ok(new Page<CommunicationView>(log.Items, paging.Page, paging.PageSize, log.Total));
    }

    public static async Task<Results<Ok<Acknowledgement>, NotFound>> AcknowledgeAsync(Guid id, ClaimsPrincipal caller, IClusterClient grains)
    {
        var result = await grains.GetGrain<IIncidentGrain>(id).AcknowledgeAsync(caller.ToAgencyContext(), null, AckSource.IncidentApi);
        if (result.Acknowledgement is not { } ack) return TypedResults.NotFound();
        AckMetrics.Record(ack);
        return TypedResults.Ok(ack);
    }

    public static async Task<Results<Ok<IncidentDetail>, NotFound, ValidationProblem, ProblemHttpResult>> AssignAsync(
        Guid id, AssignCompaniesRequest request, ClaimsPrincipal caller, IClusterClient grains, DispatchStore store)
    {
        var context = caller.ToAgencyContext();
        // An incident the caller cannot manage is not found, whatever the body says.
        if (request.Validate() is { Any: true } errors)
            return await DetailAsync(store, context, id) is { } seen && seen.Incident.AgencyId == context.AgencyId
                ? TypedResults.ValidationProblem(errors.ToDictionary())
                : TypedResults.NotFound();
        return Answer(await grains.GetGrain<IIncidentGrain>(id).AssignAsync(context, request.AgencyIds!, Activity.Current?.Id));
    }

    public static async Task<Results<Ok<IncidentDetail>, NotFound, ValidationProblem, ProblemHttpResult>> ResolveAsync(
        Guid id, ClaimsPrincipal caller, IClusterClient grains) =>
        Answer(await grains.GetGrain<IIncidentGrain>(id).ResolveAsync(caller.ToAgencyContext()));

    public static async Task<Results<Ok<IncidentDetail>, NotFound, ValidationProblem, ProblemHttpResult>> CloseAsync(
        Guid id, ClaimsPrincipal caller, IClusterClient grains) =>
        Answer(await grains.GetGrain<IIncidentGrain>(id).CloseAsync(caller.ToAgencyContext()));

    private static Results<Ok<IncidentDetail>, NotFound, ValidationProblem, ProblemHttpResult> Answer(IncidentCommandResult result) => result.Outcome switch
    {
        CommandOutcome.NotFound => TypedResults.NotFound(),
        CommandOutcome.Invalid => Problems.Field(result.Field!, result.Message!),
        CommandOutcome.Conflict => Problems.Conflict(result.Message!),
        _ => result.Detail is { } detail ? TypedResults.Ok(detail) : TypedResults.NotFound(),
    };

    /// <summary>The incident as the caller sees it now (a query: commands went to the grain).</summary>
    private static async Task<IncidentDetail?> DetailAsync(DispatchStore store, AgencyContext context, Guid id)
    {
        await using var scope = await store.BeginAsync(context);
        return await IncidentViews.GetAsync(scope, id);
    }
}
