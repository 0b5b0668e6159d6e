using System.Collections;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Metadata;
using Npgsql;

namespace Dispatch.Api.Http;

/// <summary>
/// A body that is not JSON, a body of the wrong shape, a parameter that cannot be read, or text the database cannot hold is the
/// client's mistake: 400 with a problem that names what was expected, never 500.
/// </summary>
public sealed class BadRequestHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        // The exception handler has already cleared the endpoint from the context; its feature keeps it.
        var endpoint = context.Features.Get<IExceptionHandlerFeature>()?.Endpoint ?? context.GetEndpoint();
        var bodyType = endpoint?.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType;
        // A FastEndpoints request type also holds the route's values, which are not part of the body.
        var routeValues = (endpoint as RouteEndpoint)?.RoutePattern.Parameters.Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase) ?? [];
        var (status, detail) = exception switch
        {
            BadHttpRequestException bad when bodyType is not null && (bad.InnerException is JsonException || bad.Message.Contains("request body")) =>
                (bad.StatusCode, $"The body is not JSON of the expected shape{At(bad.InnerException as JsonException)}: expected {Shape(bodyType)}."),
            BadHttpRequestException bad => (bad.StatusCode, bad.Message),
            // FastEndpoints lets the serializer's exception through (see FastEndpointsSetup).
            JsonException json when bodyType is not null =>
                (StatusCodes.Status400BadRequest, $"The body is not JSON of the expected shape{At(json)}: expected {Shape(bodyType, except: routeValues)}."),
            // A multipart or urlencoded body that ends early or breaks its own boundaries.
            InvalidDataException or IOException when HasForm(context.Request) =>
                (StatusCodes.Status400BadRequest, "The form could not be read: it is not well-formed multipart/form-data or urlencoded content."),
            // A NUL or an unpaired surrogate slipped past the edge (e.g. inside a free-form JSON object): PostgreSQL cannot store it.
            PostgresException { SqlState: PostgresErrorCodes.CharacterNotInRepertoire or PostgresErrorCodes.UntranslatableCharacter } =>
                (StatusCodes.Status400BadRequest, "The request holds characters that cannot be stored (such as \\u0000)."),
            _ => (0, null),
        };
        if (detail is null) return false;
        context.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = status, Title = "Bad request", Detail = detail },
        });
    }

    private static bool HasForm(HttpRequest request)
    {
        try { return request.HasFormContentType; }
        catch (Exception e) when (e is FormatException or InvalidOperationException) { return false; }
    }

    private static string At(JsonException? json) => string.IsNullOrEmpty(json?.Path) || json.Path == "$" ? "" : $" (at {json.Path})";

    /// <summary>A compact description of what a request type's JSON looks like, e.g. <c>{"preferences": [{"transportChannelId": uuid, …}]}</c>.</summary>
    public static string Shape(Type type, int depth = 0, IReadOnlySet<string>? except = null)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string)) return "string";
        if (type == typeof(Guid)) return "uuid";
        if (type == typeof(bool)) return "boolean";
        if (type == typeof(int) || type == typeof(long) || type == typeof(short)) return "integer";
        if (type == typeof(double) || type == typeof(decimal) || type == typeof(float)) return "number";
        if (type == typeof(DateTimeOffset) || type == typeof(DateTime)) return "date-time";
        if (typeof(JsonNode).IsAssignableFrom(type) || type == typeof(JsonElement)) return "object";
        if (type.IsGenericType && type.GetGenericTypeDefinition() is var g && (g == typeof(Dictionary<,>) || g == typeof(IReadOnlyDictionary<,>)))
            return $"{{string: {Shape(type.GetGenericArguments()[1], depth + 1)}}}";
        if (type != typeof(string) && typeof(IEnumerable).IsAssignableFrom(type))
        {
            var element = type.IsArray ? type.GetElementType()! : type.GetGenericArguments().FirstOrDefault() ?? typeof(object);
            return $"[{Shape(element, depth + 1)}]";
        }
        if (depth > 3) return "object";
        var members = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanRead && p.GetIndexParameters().Length == 0 && p.GetCustomAttribute<FastEndpoints.FromHeaderAttribute>() is null
                && except?.Contains(p.Name) != true)
            .Select(p => $"\"{JsonNamingPolicy.CamelCase.ConvertName(p.Name)}\": {Shape(p.PropertyType, depth + 1)}");
        return $"{{{string.Join(", ", members)}}}";
    }
}
