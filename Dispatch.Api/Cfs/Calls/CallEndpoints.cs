using System.Diagnostics;
using Dispatch.Grains.Cfs;
using FastEndpoints;
using FluentValidation;

namespace Dispatch.Api.Cfs.Calls;

public sealed class ListImportsRequest : IPagedRequest
{
    public string? Status { get; set; }
    public Guid? ConfigurationId { get; set; }
    public int? Page { get; set; }
    public int? PageSize { get; set; }
}

public sealed class ListImportsValidator : Validator<ListImportsRequest>
{
    public ListImportsValidator()
    {
        this.AddPagingRules();
        RuleFor(r => r.Status).Must(s => s is null or CfsImportStatus.Imported or CfsImportStatus.Duplicate or CfsImportStatus.Failed)
            .WithMessage("status is one of imported, duplicate, failed.");
    }
}

public sealed class ListCfsImports(DispatchStore store) : Endpoint<ListImportsRequest, Ok<Page<CfsImportView>>>
{
    public override void Configure()
    {
        Get("/api/v1/cfs-imports");
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CfsRead));
        Description(d => d.WithTags("CFS intake").WithName("ListCfsImports")
            .WithSummary("Files read from the PSAP's inboxes, newest first; filter by status (imported, duplicate, failed) and configurationId."));
    }

    public override async Task<Ok<Page<CfsImportView>>> ExecuteAsync(ListImportsRequest request, CancellationToken ct)
    {
        var paging = request.ToPaging();
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        var (items, total) = await CfsRecords.ListImportsAsync(scope, request.Status, request.ConfigurationId, paging.Offset, paging.PageSize);
        return TypedResults.Ok(new Page<CfsImportView>(items, paging.Page, paging.PageSize, total));
    }
}

public sealed class ListCallsRequest : IPagedRequest
{
    public bool? Linked { get; set; }
    public Guid? ConfigurationId { get; set; }

    /// <summary>An EIDO subscription: only the calls its EIDOs brought.</summary>
    public Guid? SubscriptionId { get; set; }

    /// <summary><c>cad</c> (CAD exports) or <c>eido</c> (NG9-1-1).</summary>
    public string? Source { get; set; }

    public int? Page { get; set; }
    public int? PageSize { get; set; }
}

public sealed class ListCallsValidator : Validator<ListCallsRequest>
{
    public ListCallsValidator()
    {
        this.AddPagingRules();
        RuleFor(r => r.Source).Must(s => s is null or CallOrigin.CadSource or CallOrigin.EidoSource).WithMessage("source is cad or eido.");
    }
}

public sealed class ListCfsIncidents(DispatchStore store) : Endpoint<ListCallsRequest, Ok<Page<CfsIncidentView>>>
{
    public override void Configure()
    {
        Get("/");
        Group<CallsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CfsRead));
        Description(d => d.WithName("ListCfsIncidents").WithSummary("Calls for service from CAD exports and NG9-1-1 EIDOs, newest first; filter by linked=true|false, source=cad|eido, configurationId and subscriptionId."));
    }

    public override async Task<Ok<Page<CfsIncidentView>>> ExecuteAsync(ListCallsRequest request, CancellationToken ct)
    {
        var paging = request.ToPaging();
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        var (items, total) = await CfsRecords.ListAsync(scope, request.Linked, request.ConfigurationId, paging.Offset, paging.PageSize,
            request.Source, request.SubscriptionId);
        return TypedResults.Ok(new Page<CfsIncidentView>(items, paging.Page, paging.PageSize, total));
    }
}

public sealed class GetCfsIncident(DispatchStore store) : Endpoint<IdRoute, Results<Ok<CfsIncidentView>, NotFound>>
{
    public override void Configure()
    {
        Get("/{id:guid}");
        Group<CallsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CfsRead));
        Description(d => d.WithName("GetCfsIncident").WithSummary("One imported call, with its raw CAD record."));
    }

    public override async Task<Results<Ok<CfsIncidentView>, NotFound>> ExecuteAsync(IdRoute request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        return await CfsRecords.GetAsync(scope, request.Id) is { } call ? TypedResults.Ok(call) : TypedResults.NotFound();
    }
}

/// <summary>Link a call to an existing incident (<c>incidentId</c>), or raise one from it (priority defaults to the mapped one).</summary>
public sealed class CfsLinkRequest
{
    public Guid Id { get; set; }
    public Guid? IncidentId { get; set; }
    public string? Priority { get; set; }
    public string? Title { get; set; }
    public IReadOnlyList<Guid>? AgencyIds { get; set; }
}

public sealed class CfsLinkValidator : Validator<CfsLinkRequest>
{
    public CfsLinkValidator()
    {
        RuleFor(r => r.IncidentId).Must((r, incident) => incident is null || (r.Priority is null && r.Title is null && r.AgencyIds is null))
            .WithMessage("Either link to incidentId, or give priority, title and agencyIds to raise a new incident; not both.");
        RuleFor(r => r.Priority).Must(p => p is null || IncidentPriority.IsValid(p)).WithMessage("priority is one of irod, critical, dangerous, routine_special.");
        RuleFor(r => r.AgencyIds).AtMost("agencyIds");
        RuleFor(r => r.Title).Must(t => t is null || t.Trim().Length is > 0 and <= 200).WithMessage("title is 1 to 200 characters.");
    }
}

public sealed record CfsLinkResult(Guid IncidentId, CfsIncidentView Call);

public sealed class LinkCfsIncident(DispatchStore store, IClusterClient grains)
    : Endpoint<CfsLinkRequest, Results<Ok<CfsLinkResult>, NotFound, ValidationProblem, ProblemHttpResult>>
{
    public override void Configure()
    {
        Post("/{id:guid}/link");
        Group<CallsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CfsManage));
        Description(d => d.ProducesProblem(StatusCodes.Status409Conflict).WithName("LinkCfsIncident")
            .WithSummary("Link the call to an incident, or raise a new incident from it and notify its companies."));
    }

    public override async Task<Results<Ok<CfsLinkResult>, NotFound, ValidationProblem, ProblemHttpResult>> ExecuteAsync(CfsLinkRequest request,
        CancellationToken ct)
    {
        var context = User.ToAgencyContext();
        await using var scope = await store.BeginAsync(context);
        if (await CfsRecords.GetAsync(scope, request.Id) is not { } call) return TypedResults.NotFound();
        if (request.IncidentId is null)
        {
            // Raising an incident from the call is an incident command: its grain creates, notifies and links in one transaction.
            if (call.LinkedIncidentId is { } already) return Problems.Conflict($"This call is already linked to incident {already}.");
            if ((request.Priority ?? call.Priority) is not { } priority)
                return Problems.Field("priority", "The call has no mapped priority: give one.");
            var raised = Guid.CreateVersion7();
            var result = await grains.GetGrain<IIncidentGrain>(raised).CreateAsync(context, new IncidentDraft(priority,
                request.Title?.Trim() ?? call.IncidentType ?? $"{(call.Source == CallOrigin.EidoSource ? "NG9-1-1 incident" : "CAD call")} {call.ExternalCfsId}", call.Description ?? "", call.Address, call.IncidentType,
                (request.AgencyIds ?? []).Distinct().ToList(), Activity.Current?.Id, CfsIncidentId: request.Id));
            return result.Outcome switch
            {
                CommandOutcome.Invalid => Problems.Field(result.Field!, result.Message!),
                CommandOutcome.Conflict => Problems.Conflict(result.Message!),
                CommandOutcome.NotFound => TypedResults.NotFound(),
                _ => await CfsRecords.GetAsync(scope, request.Id) is { } linked ? TypedResults.Ok(new CfsLinkResult(raised, linked)) : TypedResults.NotFound(),
            };
        }
        // Linking writes on the incident (its log): the incident's grain does it.
        var link = await grains.GetGrain<IIncidentGrain>(request.IncidentId.Value).LinkCallAsync(context, request.Id);
        return link.Outcome switch
        {
            CommandOutcome.Conflict => Problems.Conflict(link.Message!),
            CommandOutcome.Done => TypedResults.Ok(new CfsLinkResult(request.IncidentId.Value, link.Call!)),
            _ => TypedResults.NotFound(),
        };
    }
}
