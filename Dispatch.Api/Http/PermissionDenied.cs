using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Dispatch.Api.Http;

/// <summary>A 403 names the permission the caller lacks, so an admin knows what to grant.</summary>
public sealed class PermissionDenied(IProblemDetailsService problems) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        var permission = context.GetEndpoint()?.Metadata.GetMetadata<RequiresPermission>()?.Permission;
        if (!authorizeResult.Forbidden || permission is null)
        {
            await _default.HandleAsync(next, context, policy, authorizeResult);
            return;
        }
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails =
            {
                Status = StatusCodes.Status403Forbidden,
                Title = "Forbidden",
                Detail = $"This needs the '{permission}' permission, which your role (or API key) does not have.",
                Extensions = { ["missingPermission"] = permission },
            },
        });
    }
}
