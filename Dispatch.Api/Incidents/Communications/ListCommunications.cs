using FastEndpoints;
using FluentValidation;

namespace Dispatch.Api.Incidents.Communications;

public sealed class ListCommunicationsRequest : IdRoute, IPagedRequest
{
    public int? Page { get; set; }
    public int? PageSize { get; set; }
}

public sealed class ListCommunicationsValidator : Validator<ListCommunicationsRequest>
{
    public ListCommunicationsValidator() => this.AddPagingRules();
}

public sealed class ListCommunications(DispatchStore store)
    : Endpoint<ListCommunicationsRequest, Results<Ok<Page<CommunicationView>>, NotFound>>
{
    public override void Configure()
    {
        Get("/{id:guid}/communications");
        Group<IncidentsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.IncidentsRead));
        Description(d => d.WithName("ListIncidentCommunications")
            .WithSummary("The incident's append-only log, oldest first: every message, acknowledgement, escalation and alert (a company sees its own)."));
    }

    public override async Task<Results<Ok<Page<CommunicationView>>, NotFound>> ExecuteAsync(ListCommunicationsRequest request, CancellationToken ct)
    {
        var paging = request.ToPaging();
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        if (await CommunicationLog.ListAsync(scope, request.Id, paging.Offset, paging.PageSize) is not { } log) return TypedResults.NotFound();
        return TypedResults.Ok(new Page<CommunicationView>(log.Items, paging.Page, paging.PageSize, log.Total));
    }
}
