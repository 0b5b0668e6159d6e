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

    public static async Task<Results<Created<IncidentDetail>, ValidationProblem>> CreateAsync(
        NewIncidentRequest request, ClaimsPrincipal caller, DispatchStore store, TimeProvider time)
    {
        if (request.Validate() is { Any: true } errors) return TypedResults.ValidationProblem(errors.ToDictionary());
        var now = time.GetUtcNow();
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        var incident = await IncidentStore.CreateAsync(scope,
            new NewIncident(request.Priority!, request.Title!.Trim(), request.Description?.Trim() ?? "", request.Address?.Trim(), request.IncidentType), now);
        try
        {
            foreach (var company in request.AgencyIds ?? [])
                await Assignments.AssignAsync(scope, incident, company, now, Activity.Current?.Id);
        }
        catch (NotAssignableException e)
        {
            return Problems.Field("agencyIds", e.Message);
        }
        var detail = (await IncidentViews.GetAsync(scope, incident.Id))!;
        await scope.CommitAsync();
        return TypedResults.Created($"/api/v1/incidents/{incident.Id}", detail);
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

    public static async Task<Results<Ok<Acknowledgement>, NotFound>> AcknowledgeAsync(Guid id, ClaimsPrincipal caller, DispatchStore store, TimeProvider time)
    {
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        var ack = await Acknowledgements.AcknowledgeIncidentAsync(scope, id, AckSource.IncidentApi, caller.UserId(), time.GetUtcNow());
        if (ack is null) return TypedResults.NotFound();
        await scope.CommitAsync();
        AckMetrics.Record(ack);
        return TypedResults.Ok(ack);
    }

    public static async Task<Results<Ok<IncidentDetail>, NotFound, ValidationProblem, ProblemHttpResult>> AssignAsync(
        Guid id, AssignCompaniesRequest request, ClaimsPrincipal caller, DispatchStore store, TimeProvider time)
    {
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        if (await IncidentStore.GetAsync(scope, id) is not { } incident || incident.AgencyId != scope.Context.AgencyId) return TypedResults.NotFound();
        if (request.Validate() is { Any: true } errors) return TypedResults.ValidationProblem(errors.ToDictionary());
        if (incident.Status is IncidentStatus.Resolved or IncidentStatus.Closed)
            return Problems.Conflict($"The incident is {incident.Status}; companies can no longer be added.");
        var added = 0;
        try
        {
            foreach (var company in request.AgencyIds!)
                if (await Assignments.AssignAsync(scope, incident, company, time.GetUtcNow(), Activity.Current?.Id) is not null) added++;
        }
        catch (NotAssignableException e)
        {
            return Problems.Field("agencyIds", e.Message);
        }
        // Every company had acknowledged; a new one has not: the incident is open again until it does.
        if (added > 0 && incident.Status == IncidentStatus.Acknowledged) await IncidentStore.SaveAsync(scope, incident, incident.Reopen());
        var detail = (await IncidentViews.GetAsync(scope, id))!;
        await scope.CommitAsync();
        return TypedResults.Ok(detail);
    }

    public static Task<Results<Ok<IncidentDetail>, NotFound, ProblemHttpResult>> ResolveAsync(
        Guid id, ClaimsPrincipal caller, DispatchStore store, TimeProvider time) =>
        TransitionAsync(id, caller, store, s => s.Resolve(time.GetUtcNow()));

    public static Task<Results<Ok<IncidentDetail>, NotFound, ProblemHttpResult>> CloseAsync(
        Guid id, ClaimsPrincipal caller, DispatchStore store, TimeProvider time) =>
        TransitionAsync(id, caller, store, s => s.Close(time.GetUtcNow()));

    private static async Task<Results<Ok<IncidentDetail>, NotFound, ProblemHttpResult>> TransitionAsync(
        Guid id, ClaimsPrincipal caller, DispatchStore store, Func<IncidentState, IncidentState> decide)
    {
        try
        {
            return await Concurrency.RetryOnConflictAsync<Results<Ok<IncidentDetail>, NotFound, ProblemHttpResult>>(async _ =>
            {
                await using var scope = await store.BeginAsync(caller.ToAgencyContext());
                if (await IncidentStore.GetAsync(scope, id) is not { } before || before.AgencyId != scope.Context.AgencyId)
                    return TypedResults.NotFound();
                await IncidentStore.SaveAsync(scope, before, decide(before));
                var detail = (await IncidentViews.GetAsync(scope, id))!;
                await scope.CommitAsync();
                return TypedResults.Ok(detail);
            });
        }
        catch (IllegalTransitionException e)
        {
            return Problems.Conflict(e.Message);
        }
    }
}
