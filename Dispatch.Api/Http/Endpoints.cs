using System.Text.RegularExpressions;

namespace Dispatch.Api.Http;

/// <summary>Endpoint metadata naming the permission a route requires (read by tests and the OpenAPI document).</summary>
public sealed record RequiresPermission(string Permission);

public static partial class Endpoints
{
    public static RouteHandlerBuilder RequirePermission(this RouteHandlerBuilder builder, string permission) =>
        builder.RequireAuthorization(permission).WithMetadata(new RequiresPermission(permission));

    public static bool IsSlug(string? value) => value is not null && value.Length <= 63 && SlugPattern().IsMatch(value);

    [GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex SlugPattern();
}

/// <summary>A page of a list: <c>?page=1&amp;pageSize=50</c> (at most 200).</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, int PageNumber, int PageSize, long Total);

public readonly record struct Paging(int Page, int PageSize)
{
    public const int MaxPageSize = 200;

    public long Offset => (Page - 1L) * PageSize;

    /// <summary>This page of a list small enough to read whole (an agency's configuration).</summary>
    public Page<T> Of<T>(IReadOnlyList<T> all) =>
        new(Offset >= all.Count ? [] : all.Skip((int)Offset).Take(PageSize).ToList(), Page, PageSize, all.Count);
}

/// <summary>Field errors gathered for a 400 validation problem.</summary>
public sealed class Errors
{
    private readonly Dictionary<string, List<string>> _errors = new();

    public bool Any => _errors.Count > 0;

    public Errors Check(bool ok, string field, string message)
    {
        if (!ok) Add(field, message);
        return this;
    }

    public Errors Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list)) _errors[field] = list = [];
        list.Add(message);
        return this;
    }

    public Dictionary<string, string[]> ToDictionary() => _errors.ToDictionary(e => e.Key, e => e.Value.ToArray());
}
