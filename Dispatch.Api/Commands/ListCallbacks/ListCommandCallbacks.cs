using Dispatch.Grains.Commands;
using FastEndpoints;
using FluentValidation;

namespace Dispatch.Api.Commands.ListCallbacks;

public sealed class ListCommandCallbacksRequest : IPagedRequest
{
    public Guid Id { get; set; }
    public string? Status { get; set; }
    public int? Page { get; set; }
    public int? PageSize { get; set; }
}

public sealed class ListCommandCallbacksValidator : Validator<ListCommandCallbacksRequest>
{
    public ListCommandCallbacksValidator()
    {
        this.AddPagingRules();
        RuleFor(r => r.Status).Must(s => s is null or "queued" or "sending" or "delivered" or "dead_lettered")
            .WithMessage("status is one of queued, sending, delivered, dead_lettered.");
    }
}

public sealed class ListCommandCallbacks(DispatchStore store)
    : Endpoint<ListCommandCallbacksRequest, Results<Ok<Page<CallbackView>>, NotFound>>
{
    public override void Configure()
    {
        Get("/api/v1/command-connections/{id:guid}/callbacks");
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CommandConnectionsManage));
        Description(d => d.WithTags("Command connections").WithName("ListCommandCallbacks")
            .WithSummary("A callback connection's deliveries, newest first; filter by status (queued, sending, delivered, dead_lettered)."));
    }

    public override async Task<Results<Ok<Page<CallbackView>>, NotFound>> ExecuteAsync(ListCommandCallbacksRequest request, CancellationToken ct)
    {
        var paging = request.ToPaging();
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        if (await CommandCallbacks.ListAsync(scope, request.Id, request.Status, paging.Offset, paging.PageSize) is not { } list) return TypedResults.NotFound();
        return TypedResults.Ok(new Page<CallbackView>(list.Items, paging.Page, paging.PageSize, list.Total));
    }
}
