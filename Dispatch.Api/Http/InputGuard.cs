using System.Text;
using System.Text.Json;
using Microsoft.Net.Http.Headers;

namespace Dispatch.Api.Http;

/// <summary>
/// What a request carries is judged at the edge, before any endpoint:
/// <list type="bullet">
/// <item>a <c>Content-Type</c> matters only with a body: a request without one is read the same whatever its
/// <c>Content-Type</c> says (some clients send <c>Content-Type: application/json</c> on every request): a command that needs
/// no body (an acknowledgement) works, one that needs a JSON body is told so (415, below);</item>
/// <item>a body in a charset no one can decode is a 415 problem;</item>
/// <item>text PostgreSQL cannot store — a NUL (U+0000) or an unpaired surrogate (<c>\ud800</c>) — anywhere in the path, the
/// query or any JSON string or property name, free-form objects included, is a 400 problem saying where.</item>
/// </list>
/// </summary>
public static class InputGuard
{
    private const int MaxScannedBytes = 1 << 20; // API bodies are small; larger ones (CFS samples) are XML, not scanned here

    public static IApplicationBuilder UseInputGuard(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var request = context.Request;
        if (!HasBody(request)) request.Headers.Remove(HeaderNames.ContentType);
        else if (UnknownCharset(request) is { } charset)
        {
            await WriteAsync(context, StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                $"The body's charset '{charset}' is not supported: send UTF-8.");
            return;
        }

        var where = Unstorable(request.Path.Value) ? "the path"
            : request.Query.FirstOrDefault(q => Unstorable(q.Key) || q.Value.Any(Unstorable)) is { Key: not null } q ? $"the query parameter '{Printable(q.Key)}'"
            : request.HasJsonContentType() && await JsonBodyFindAsync(request, context.RequestAborted) is { } path ? $"the body at {path}"
            : null;
        if (where is null)
        {
            await next(context);
            return;
        }
        await WriteAsync(context, StatusCodes.Status400BadRequest, "Bad request",
            $"NUL characters (\\u0000) and unpaired surrogates (such as \\ud800) cannot be stored: found in {where}.");
    });

    /// <summary>
    /// After routing: a request whose media type the endpoint does not take is a 415 problem naming what it takes. Routing's own
    /// 415 endpoint and FastEndpoints (which checks an endpoint's accepted types before binding) answer with an empty body.
    /// </summary>
    public static IApplicationBuilder UseMediaTypeProblems(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var endpoint = context.GetEndpoint();
        var rejected = endpoint?.DisplayName?.StartsWith("415 ", StringComparison.Ordinal) == true;
        var accepts = endpoint?.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Metadata.IAcceptsMetadata>()?.ContentTypes ?? [];
        if (!rejected && (accepts.Count == 0 || accepts.Any(type => Takes(type, context.Request.ContentType))))
        {
            await next(context);
            return;
        }
        var takes = accepts.Count == 0 ? "a JSON body (application/json)" : string.Join(" or ", accepts.Distinct());
        await WriteAsync(context, StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
            $"This operation takes {takes}; the request has {(string.IsNullOrEmpty(context.Request.ContentType) ? "no body" : $"'{context.Request.ContentType}'")}.");
    });

    private static bool Takes(string accepted, string? contentType)
    {
        if (accepted == "*/*") return true;
        if (!MediaTypeHeaderValue.TryParse(contentType, out var sent) || !MediaTypeHeaderValue.TryParse(accepted, out var type)) return false;
        if (sent.MatchesMediaType(type.MediaType)) return true;
        // application/json takes every JSON type (application/problem+json, application/merge-patch+json …), as the binder does.
        return type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) && sent.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>A body is there when its length says so, or when it is sent in chunks.</summary>
    private static bool HasBody(HttpRequest request) =>
        request.ContentLength is > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);

    private static string? UnknownCharset(HttpRequest request)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) || type.Charset.Value is not { Length: > 0 } charset) return null;
        try
        {
            _ = Encoding.GetEncoding(charset.Trim('"'));
            return null;
        }
        catch (ArgumentException)
        {
            return charset.Length > 40 ? charset[..40] + "…" : charset;
        }
    }

    private static Task WriteAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        return context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        }).AsTask();
    }

    private static bool Unstorable(string? text)
    {
        if (text is null) return false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0') return true;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            else if (char.IsSurrogate(c)) return true;
        }
        return false;
    }

    private static string Printable(string text) => new(text.Where(c => c != '\0' && !char.IsSurrogate(c)).ToArray());

    private static async Task<string?> JsonBodyFindAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength is > MaxScannedBytes) return null;
        request.EnableBuffering();
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken);
        request.Body.Position = 0;
        return buffer.Length > MaxScannedBytes ? null : FindUnstorable(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    // The JSON path of the first string or name that cannot be stored; null when there is none or the body is not JSON (the
    // binder answers that). An escaped unpaired surrogate makes the reader throw InvalidOperationException when the string is read.
    private static string? FindUnstorable(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, MaxDepth = 64 });
        var path = new Stack<string>();
        string? name = null;
        string Here() => "$" + string.Concat(path.Reverse()) + (name is null ? "" : "." + Printable(name));
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        try { name = reader.GetString()!; }
                        catch (InvalidOperationException) { return "a property name"; }
                        if (Unstorable(name)) return "a property name";
                        break;
                    case JsonTokenType.String when reader.ValueIsEscaped:
                        try
                        {
                            if (Unstorable(reader.GetString())) return Here();
                        }
                        catch (InvalidOperationException)
                        {
                            return Here();
                        }
                        name = null;
                        break;
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
