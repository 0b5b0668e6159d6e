using System.Reflection;
using FastEndpoints;

namespace Dispatch.Api.Console;

/// <summary>
/// The console (<c>/console</c>): a page, a script and a style sheet built into the Api, served from its own assembly, so
/// there is nothing else to start or deploy and nothing is fetched from elsewhere at run time. The page talks to the REST API
/// with the signed-in user's token and listens to <c>GET /api/v1/incidents/events</c> for changes.
/// </summary>
public sealed class ConsolePages : EndpointWithoutRequest
{
    public const string Path = "/console";

    private static readonly Assembly Here = typeof(ConsolePages).Assembly;

    private static readonly Dictionary<string, string> Types = new()
    {
        ["index.html"] = "text/html; charset=utf-8",
        ["console.js"] = "text/javascript; charset=utf-8",
        ["console.css"] = "text/css; charset=utf-8",
    };

    public override void Configure()
    {
        Get(Path, Path + "/{file}");
        AllowAnonymous(); // the page itself holds nothing; every call it makes is authenticated
        Description(d => d.ExcludeFromDescription());
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var file = Route<string>("file", isRequired: false) ?? "index.html";
        if (!Types.TryGetValue(file, out var type) || Here.GetManifestResourceStream("console/" + file) is not { } content)
        {
            await Send.NotFoundAsync(ct);
            return;
        }
        await using (content)
        {
            HttpContext.Response.Headers.CacheControl = "no-cache";
            await Send.StreamAsync(content, contentType: type, cancellation: ct);
        }
    }
}
