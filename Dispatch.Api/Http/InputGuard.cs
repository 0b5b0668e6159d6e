using System.Text.Json;

namespace Dispatch.Api.Http;

/// <summary>
/// PostgreSQL text cannot hold U+0000, so a NUL anywhere in a request — path, query, or any JSON string or property name,
/// free-form objects included — is refused at the edge with a 400 problem instead of failing deep in a handler.
/// </summary>
public static class NulGuard
{
    private const int MaxScannedBytes = 1 << 20; // API bodies are small; larger ones (CFS samples) are XML, not scanned here

    public static IApplicationBuilder UseNulGuard(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var request = context.Request;
        var where = request.Path.Value?.Contains('\0') == true ? "the path"
            : request.Query.FirstOrDefault(q => q.Key.Contains('\0') || q.Value.Any(v => v?.Contains('\0') == true)) is { Key: not null } q ? $"the query parameter '{q.Key.Replace("\0", "")}'"
            : request.HasJsonContentType() && await JsonBodyHasNulAsync(request, context.RequestAborted) is { } path ? $"the body at {path}"
            : null;
        if (where is null)
        {
            await next(context);
            return;
        }
        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = 400, Title = "Bad request", Detail = $"NUL characters (\\u0000) are not accepted: found in {where}." },
        });
    });

    private static async Task<string?> JsonBodyHasNulAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength is > MaxScannedBytes) return null;
        request.EnableBuffering();
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken);
        request.Body.Position = 0;
        return buffer.Length > MaxScannedBytes ? null : FindNul(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    // The JSON path of the first string or name holding a NUL; null when there is none or the body is not JSON (the binder answers that).
    private static string? FindNul(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, MaxDepth = 64 });
        var path = new Stack<string>();
        string? name = null;
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        name = reader.GetString()!;
                        if (name.Contains('\0')) return "a property name";
                        break;
                    case JsonTokenType.String when reader.ValueIsEscaped && reader.GetString()!.Contains('\0'):
                        return "$" + string.Concat(path.Reverse()) + (name is null ? "" : "." + name);
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        path.Push(name is null ? "" : "." + name);
                        name = null;
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        if (path.Count > 0) path.Pop();
                        name = null;
                        break;
                    default:
                        name = null;
                        break;
                }
            }
        }
        catch (JsonException)
        {
        }
        return null;
    }
}
