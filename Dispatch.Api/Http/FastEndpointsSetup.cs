using System.Diagnostics;
using System.Text.Json;
using FastEndpoints;
using FluentValidation;
using FluentValidation.Results;

namespace Dispatch.Api.Http;

/// <summary>
/// FastEndpoints, answering as the rest of the Api does: a client's mistake (a failed validator, a body that is not JSON of the
/// expected shape, a value that cannot be bound) is a 400 RFC 9457 problem: a failed validator or binding lists its field errors
/// as <c>{"field": ["message"]}</c>, field names in the JSON's own camelCase (<c>admin.firstName</c>); a body that is not JSON of
/// the expected shape says where and which shape (see <see cref="BadRequestHandler"/>).
/// </summary>
public static class FastEndpointsSetup
{
    public static void Configure(Config config)
    {
        config.Errors.ResponseBuilder = (failures, context, status) => ValidationProblem(failures, context, status);
        config.Errors.ProducesMetadataType = typeof(HttpValidationProblemDetails);
        // A body that is not JSON of the request's shape goes to BadRequestHandler, which says where and what shape was expected.
        config.Binding.JsonExceptionTransformer = null;
        config.Binding.FailureMessage = (type, name, value) =>
            $"{JsonNamingPolicy.CamelCase.ConvertName(name)} cannot be '{value}': expected {BadRequestHandler.Shape(type)}.";
    }

    /// <summary>Failures as field errors: <c>{"field": ["message"]}</c>.</summary>
    public static Dictionary<string, string[]> Fields(IEnumerable<ValidationFailure> failures) => failures
        .GroupBy(f => FieldName(f.PropertyName))
        .ToDictionary(g => g.Key, g => g.Select(f => f.ErrorMessage).Distinct().ToArray());

    public static HttpValidationProblemDetails ValidationProblem(IEnumerable<ValidationFailure> failures, HttpContext context, int status)
    {
        var problem = new HttpValidationProblemDetails(Fields(failures))
        {
            Status = status,
            Type = "https://tools.ietf.org/html/rfc9110#section-15.5.1",
            Title = "One or more validation errors occurred.",
        };
        problem.Extensions["traceId"] = Activity.Current?.Id ?? context.TraceIdentifier;
        return problem;
    }

    /// <summary><c>Admin.FirstName</c> → <c>admin.firstName</c>; <c>AgencyIds[0]</c> → <c>agencyIds[0]</c>.</summary>
    public static string FieldName(string propertyName) =>
        string.Join('.', propertyName.Split('.').Select(JsonNamingPolicy.CamelCase.ConvertName));
}

/// <summary><c>?page=1&amp;pageSize=50</c> on a list.</summary>
public interface IPagedRequest
{
    int? Page { get; }
    int? PageSize { get; }
}

public static class PagingRules
{
    /// <summary>The rules every paged list shares.</summary>
    public static void AddPagingRules<T>(this AbstractValidator<T> validator) where T : IPagedRequest
    {
        validator.RuleFor(r => r.Page).Must(p => p is null or >= 1).WithMessage("page starts at 1.");
        validator.RuleFor(r => r.PageSize).Must(s => s is null or (>= 1 and <= Http.Paging.MaxPageSize))
            .WithMessage($"pageSize must be between 1 and {Http.Paging.MaxPageSize}.");
    }

    public static Paging ToPaging(this IPagedRequest request) => new(request.Page ?? 1, request.PageSize ?? 50);
}

/// <summary>
/// Every list a request carries has a bound, so that no single request holds a grain (or a transaction) for more than a moment;
/// the handlers collapse duplicates.
/// </summary>
public static class ListRules
{
    /// <summary>Companies on one incident, people in one tier, permissions in one role or key.</summary>
    public const int MaxItems = 100;

    public static IRuleBuilderOptions<T, IReadOnlyList<TItem>?> AtMost<T, TItem>(this IRuleBuilder<T, IReadOnlyList<TItem>?> rule, string name,
        int max = MaxItems) =>
        rule.Must(list => list is null || list.Count <= max).WithMessage($"{name} holds at most {max} items.");
}
