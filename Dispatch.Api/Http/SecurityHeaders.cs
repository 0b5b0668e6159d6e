using Microsoft.Net.Http.Headers;

namespace Dispatch.Api.Http;

/// <summary>
/// Headers every answer carries: no MIME sniffing, no referrer, HTML that cannot be framed (the acknowledgement page's
/// one button must not be clickjacked), and nothing cached from an authenticated answer or a token response.
/// </summary>
public static class SecurityHeaders
{
    // The Api's own pages (acknowledgement confirmations) load nothing and post only to themselves.
    private const string PagePolicy = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    // The console: its own script and style sheet, calls to this Api, nothing inline and nothing from elsewhere.
    private const string ConsolePolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        context.Response.OnStarting(() =>
        {
            var headers = context.Response.Headers;
            headers[HeaderNames.XContentTypeOptions] = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            if (context.Response.ContentType?.StartsWith("text/html", StringComparison.OrdinalIgnoreCase) == true)
            {
                // Swagger UI (Development only) runs its own scripts; it still may not be framed.
                headers[HeaderNames.ContentSecurityPolicy] = context.Request.Path.StartsWithSegments("/swagger") ? "frame-ancestors 'none'"
                    : context.Request.Path.StartsWithSegments(Console.ConsolePages.Path) ? ConsolePolicy : PagePolicy;
                headers[HeaderNames.XFrameOptions] = "DENY";
            }
            if (context.Request.Headers.Authorization.Count > 0 || context.Request.Path.StartsWithSegments("/api/v1/auth")
                || context.Request.Path.StartsWithSegments("/hooks"))
            {
                headers[HeaderNames.CacheControl] = "no-store";
                headers[HeaderNames.Pragma] = "no-cache";
            }
            return Task.CompletedTask;
        });
        return next(context);
    });
}
