using FastEndpoints;

namespace Dispatch.Api.Http;

/// <summary>A request naming one thing by its route: <c>/{id}</c>. Requests with a body as well derive from it.</summary>
public class IdRoute
{
    public Guid Id { get; set; }
}

/// <summary>A list's page: <c>?page=1&amp;pageSize=50</c>.</summary>
public sealed class PageRequest : IPagedRequest
{
    public int? Page { get; set; }
    public int? PageSize { get; set; }
}

public sealed class PageRequestValidator : Validator<PageRequest>
{
    public PageRequestValidator() => this.AddPagingRules();
}
