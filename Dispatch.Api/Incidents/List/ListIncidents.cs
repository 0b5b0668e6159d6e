using FastEndpoints;
using FluentValidation;

namespace Dispatch.Api.Incidents.List;

public sealed class ListIncidentsRequest : IPagedRequest
{
    public int? Page { get; set; }
    public int? PageSize { get; set; }
    public string? Status { get; set; }
    public string? Priority { get; set; }
    public Guid? CompanyId { get; set; }
    public DateTimeOffset? From { get; set; }
    public DateTimeOffset? To { get; set; }
}

public sealed class ListIncidentsValidator : Validator<ListIncidentsRequest>
{
    public ListIncidentsValidator()
    {
        this.AddPagingRules();
        RuleFor(r => r.Status).Must(s => s is null or IncidentStatus.Open or IncidentStatus.Acknowledged or IncidentStatus.Resolved or IncidentStatus.Closed)
            .WithMessage("status is one of open, acknowledged, resolved, closed.");
        RuleFor(r => r.Priority).Must(p => p is null || IncidentPriority.IsValid(p))
            .WithMessage("priority is one of irod, critical, dangerous, routine_special.");
    }
}

public sealed class ListIncidents(DispatchStore store) : Endpoint<ListIncidentsRequest, Ok<Page<IncidentSummary>>>
{
    public override void Configure()
    {
        Get("/");
        Group<IncidentsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.IncidentsRead));
        Description(d => d.WithName("ListIncidents")
            .WithSummary("Incidents the caller may see, newest first; filter by status, priority, company and creation time."));
    }

    public override async Task<Ok<Page<IncidentSummary>>> ExecuteAsync(ListIncidentsRequest request, CancellationToken ct)
    {
        var paging = request.ToPaging();
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        var filter = new IncidentFilter(request.Status, request.Priority, request.CompanyId, request.From, request.To);
        var (items, total) = await IncidentViews.ListAsync(scope, filter, paging.Offset, paging.PageSize);
        return TypedResults.Ok(new Page<IncidentSummary>(items, paging.Page, paging.PageSize, total));
    }
}
