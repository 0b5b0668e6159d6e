using System.Diagnostics;
using System.Security.Claims;
using Dispatch.Api.Auth;
using Dispatch.Api.Http;
using Dispatch.Grains.Cfs;
using Dispatch.Grains.Identity;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Routing;
using Dispatch.Grains.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Dispatch.Api.Cfs;

public static class CfsApi
{
    public static IEndpointRouteBuilder MapCfsApi(this IEndpointRouteBuilder app)
    {
        var configurations = app.MapGroup("/api/v1/cfs-configurations").WithTags("CFS intake");
        configurations.MapGet("/", ListConfigurationsAsync).WithName("ListCfsConfigurations").WithSummary("The PSAP's CAD inboxes.")
            .RequirePermission(Permissions.CfsRead);
        configurations.MapGet("/{id:guid}", GetConfigurationAsync).WithName("GetCfsConfiguration").WithSummary("One CAD inbox.")
            .RequirePermission(Permissions.CfsRead);
        configurations.MapPost("/", CreateConfigurationAsync).WithName("CreateCfsConfiguration")
            .WithSummary("Add a CAD inbox: folder, glob, parser and field mappings; the Silo starts scanning it within its poll interval.")
            .RequirePermission(Permissions.CfsManage);
        configurations.MapPut("/{id:guid}", UpdateConfigurationAsync).WithName("UpdateCfsConfiguration").WithSummary("Replace a CAD inbox's settings.")
            .RequirePermission(Permissions.CfsManage);
        configurations.MapDelete("/{id:guid}", DeactivateConfigurationAsync).WithName("DeactivateCfsConfiguration")
            .WithSummary("Stop scanning a CAD inbox (its imports stay).").RequirePermission(Permissions.CfsManage);
        configurations.MapPost("/{id:guid}/dry-run", DryRunAsync).WithName("DryRunCfsConfiguration")
            .WithSummary("Parse a sample file (the request body) with this configuration and show what would be imported; nothing is stored.")
            .RequirePermission(Permissions.CfsManage).DisableAntiforgery();

        app.MapGet("/api/v1/cfs-imports", ListImportsAsync).WithTags("CFS intake").WithName("ListCfsImports")
            .WithSummary("Files read from the PSAP's inboxes, newest first; filter by status (imported, duplicate, failed) and configurationId.")
            .RequirePermission(Permissions.CfsRead);
        var calls = app.MapGroup("/api/v1/cfs-incidents").WithTags("CFS intake");
        calls.MapGet("/", ListCallsAsync).WithName("ListCfsIncidents")
            .WithSummary("Imported calls for service, newest first; filter by linked=true|false and configurationId.")
            .RequirePermission(Permissions.CfsRead);
        calls.MapGet("/{id:guid}", GetCallAsync).WithName("GetCfsIncident").WithSummary("One imported call, with its raw CAD record.")
            .RequirePermission(Permissions.CfsRead);
        calls.MapPost("/{id:guid}/link", LinkAsync).WithName("LinkCfsIncident")
            .WithSummary("Link the call to an incident, or raise a new incident from it and notify its companies.")
            .RequirePermission(Permissions.CfsManage);
        return app;
    }

    public static async Task<Results<Ok<Page<CfsConfiguration>>, ValidationProblem>> ListConfigurationsAsync(int? page, int? pageSize, ClaimsPrincipal caller, DispatchStore store)
    {
        if (!Paging.TryCreate(page, pageSize, out var paging, out var errors)) return TypedResults.ValidationProblem(errors);
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        return TypedResults.Ok(paging.Of(await CfsConfigurations.ListAsync(scope)));
    }

    public static async Task<Results<Ok<CfsConfiguration>, NotFound>> GetConfigurationAsync(Guid id, ClaimsPrincipal caller, DispatchStore store)
    {
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        return await CfsConfigurations.GetAsync(scope, id) is { } c ? TypedResults.Ok(c) : TypedResults.NotFound();
    }

    public static async Task<Results<Created<CfsConfiguration>, ValidationProblem>> CreateConfigurationAsync(CfsConfigurationRequest request,
        ClaimsPrincipal caller, DispatchStore store, TimeProvider time, CfsInboxRoot inboxes)
    {
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        var (inbox, invalid) = await ValidateAsync(scope, null, request, inboxes);
        if (invalid is not null) return invalid;
        var saved = await CfsConfigurations.SaveAsync(scope, null, request.ToChanges(inbox!), time.GetUtcNow());
        await scope.CommitAsync();
        return TypedResults.Created($"/api/v1/cfs-configurations/{saved.Id}", saved);
    }

    public static async Task<Results<Ok<CfsConfiguration>, NotFound, ValidationProblem>> UpdateConfigurationAsync(Guid id, CfsConfigurationRequest request,
        ClaimsPrincipal caller, DispatchStore store, TimeProvider time, CfsInboxRoot inboxes)
    {
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        if (await CfsConfigurations.GetAsync(scope, id) is null) return TypedResults.NotFound();
        var (inbox, invalid) = await ValidateAsync(scope, id, request, inboxes);
        if (invalid is not null) return invalid;
        var saved = await CfsConfigurations.SaveAsync(scope, id, request.ToChanges(inbox!), time.GetUtcNow());
        await scope.CommitAsync();
        return TypedResults.Ok(saved);
    }

    /// <summary>
    /// The inbox's resolved path, or the problem: the request's field errors; an inbox under the root that no other configuration
    /// (of any agency) uses, contains or lies in; automatic creation naming only active companies the PSAP works with.
    /// </summary>
    private static async Task<(string? Inbox, ValidationProblem? Problem)> ValidateAsync(AgencyScope scope, Guid? id, CfsConfigurationRequest request,
        CfsInboxRoot inboxes)
    {
        var errors = request.Validate();
        var (inbox, inboxError) = inboxes.Resolve(request.InboxPath);
        if (inboxError is not null) errors.Add("inboxPath", inboxError);
        else if (await CfsConfigurations.InboxTakenAsync(scope, inbox!, id))
            errors.Add("inboxPath", "inboxPath is already another configuration's inbox, or lies inside or around one; each inbox belongs to one configuration.");
        if (errors.Any) return (null, TypedResults.ValidationProblem(errors.ToDictionary()));
        var companies = request.FieldMappings!.AutoCreateCompanies;
        return companies.Count == 0 || await CfsRecords.CountAssignableAsync(scope, companies) == companies.Count ? (inbox, null)
            : (null, Problems.Field("fieldMappings.autoCreate.companiesByType", "Every company must be an active company this PSAP works with."));
    }

    public static async Task<Results<Ok<CfsConfiguration>, NotFound>> DeactivateConfigurationAsync(Guid id, ClaimsPrincipal caller, DispatchStore store,
        TimeProvider time)
    {
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        if (await CfsConfigurations.GetAsync(scope, id) is not { } c) return TypedResults.NotFound();
        var saved = await CfsConfigurations.SaveAsync(scope, id,
            new CfsConfigurationChanges(c.Name, c.InboxPath, c.PollIntervalSeconds, c.FilePattern, c.ParserClass, c.FieldMappings, false), time.GetUtcNow());
        await scope.CommitAsync();
        return TypedResults.Ok(saved);
    }

    public static async Task<Results<Ok<DryRunResult>, NotFound, ValidationProblem>> DryRunAsync(Guid id, HttpRequest request, ClaimsPrincipal caller,
        DispatchStore store)
    {
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        if (await CfsConfigurations.GetAsync(scope, id) is not { } configuration) return TypedResults.NotFound();
        var limit = configuration.FieldMappings.FileLimit;
        using var body = new MemoryStream();
        var buffer = new byte[81920];
        int read;
        while ((read = await request.Body.ReadAsync(buffer)) > 0)
        {
            if (body.Length + read > limit)
                return Problems.Field("file", $"The sample is over the configuration's limit of {limit} bytes (maxFileBytes).");
            body.Write(buffer, 0, read);
        }
        if (body.Length == 0) return Problems.Field("file", "Send the sample file as the request body.");
        body.Position = 0;
        IReadOnlyList<CfsRecord> records;
        try
        {
            records = CfsParsers.Parse(configuration.ParserClass, body, configuration.FieldMappings);
        }
        catch (CfsFileException e)
        {
            return TypedResults.Ok(new DryRunResult(false, e.Message, 0, []));
        }
        var existing = (await scope.QueryAsync<string>(
            "select external_cfs_id from cfs_incidents where cfs_configuration_id = @id and external_cfs_id = any(@ids)",
            new { id, ids = records.Select(r => r.ExternalId).ToArray() })).ToHashSet();
        return TypedResults.Ok(new DryRunResult(true, null, records.Count, records.Select(r => new DryRunRecord(r.ExternalId, r.CallerName, r.CallerPhone,
            r.Description, r.Address, r.Priority, r.Type, r.ReceivedAt, existing.Contains(r.ExternalId), r.Warnings)).ToList()));
    }

    public static async Task<Results<Ok<Page<CfsImportView>>, ValidationProblem>> ListImportsAsync(string? status, Guid? configurationId, int? page,
        int? pageSize, ClaimsPrincipal caller, DispatchStore store)
    {
        if (!Paging.TryCreate(page, pageSize, out var paging, out var errors)) return TypedResults.ValidationProblem(errors);
        if (status is not (null or CfsImportStatus.Imported or CfsImportStatus.Duplicate or CfsImportStatus.Failed))
            return Problems.Field("status", "status is one of imported, duplicate, failed.");
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        var (items, total) = await CfsRecords.ListImportsAsync(scope, status, configurationId, paging.Offset, paging.PageSize);
        return TypedResults.Ok(new Page<CfsImportView>(items, paging.Page, paging.PageSize, total));
    }

    public static async Task<Results<Ok<Page<CfsIncidentView>>, ValidationProblem>> ListCallsAsync(bool? linked, Guid? configurationId, int? page,
        int? pageSize, ClaimsPrincipal caller, DispatchStore store)
    {
        if (!Paging.TryCreate(page, pageSize, out var paging, out var errors)) return TypedResults.ValidationProblem(errors);
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        var (items, total) = await CfsRecords.ListAsync(scope, linked, configurationId, paging.Offset, paging.PageSize);
        return TypedResults.Ok(new Page<CfsIncidentView>(items, paging.Page, paging.PageSize, total));
    }

    public static async Task<Results<Ok<CfsIncidentView>, NotFound>> GetCallAsync(Guid id, ClaimsPrincipal caller, DispatchStore store)
    {
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        return await CfsRecords.GetAsync(scope, id) is { } call ? TypedResults.Ok(call) : TypedResults.NotFound();
    }

    public static async Task<Results<Ok<CfsLinkResult>, NotFound, ValidationProblem, ProblemHttpResult>> LinkAsync(Guid id, CfsLinkRequest request,
        ClaimsPrincipal caller, DispatchStore store, IClusterClient grains, TimeProvider time)
    {
        if (request.Validate() is { Any: true } errors) return TypedResults.ValidationProblem(errors.ToDictionary());
        var context = caller.ToAgencyContext();
        await using var scope = await store.BeginAsync(context);
        if (await CfsRecords.GetAsync(scope, id) is not { } call) return TypedResults.NotFound();
        if (request.IncidentId is null)
        {
            // Raising an incident from the call is an incident command: its grain creates, notifies and links in one transaction.
            if (call.LinkedIncidentId is { } already) return Problems.Conflict($"This call is already linked to incident {already}.");
            if ((request.Priority ?? call.Priority) is not { } priority)
                return Problems.Field("priority", "The call has no mapped priority: give one.");
            var raised = Guid.CreateVersion7();
            var result = await grains.GetGrain<IIncidentGrain>(raised).CreateAsync(context, new IncidentDraft(priority,
                request.Title?.Trim() ?? call.IncidentType ?? $"CAD call {call.ExternalCfsId}", call.Description ?? "", call.Address, call.IncidentType,
                request.AgencyIds ?? [], Activity.Current?.Id, CfsIncidentId: id));
            return result.Outcome switch
            {
                CommandOutcome.Invalid => Problems.Field(result.Field!, result.Message!),
                CommandOutcome.Conflict => Problems.Conflict(result.Message!),
                CommandOutcome.NotFound => TypedResults.NotFound(),
                _ => await CfsRecords.GetAsync(scope, id) is { } linked ? TypedResults.Ok(new CfsLinkResult(raised, linked)) : TypedResults.NotFound(),
            };
        }
        var now = time.GetUtcNow();
        var incidentId = request.IncidentId;
        try
        {
            if (await CfsRecords.LinkAsync(scope, id, incidentId.Value, now) is not { } linked) return TypedResults.NotFound();
            await scope.CommitAsync();
            return TypedResults.Ok(new CfsLinkResult(incidentId.Value, linked));
        }
        catch (AlreadyLinkedException e)
        {
            return Problems.Conflict(e.Message);
        }
    }
}
