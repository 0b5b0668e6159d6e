using Dispatch.Api.Auth;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Dispatch.Api.Http;

/// <summary>Declares the two ways in (Bearer JWT, ApiKey) and, per operation, that it needs one of them and which permission.</summary>
public sealed class SecuritySchemes : IOpenApiDocumentTransformer
{
    private const string Bearer = "Bearer";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[Bearer] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT",
            Description = "An access token from POST /api/v1/auth/login (15 minutes).",
        };
        document.Components.SecuritySchemes[ApiKeyAuthenticationHandler.SchemeName] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = "Authorization",
            Description = "`ApiKey dsp_…`: an agency API key (its scopes are its permissions) or a command connection's key.",
        };

        var permissions = context.DescriptionGroups
            .SelectMany(g => g.Items)
            .Select(d => (Path: "/" + d.RelativePath?.TrimEnd('/'), Method: d.HttpMethod,
                Permission: d.ActionDescriptor.EndpointMetadata.OfType<RequiresPermission>().FirstOrDefault()?.Permission))
            .Where(d => d.Permission is not null)
            .ToList();
        foreach (var (path, item) in document.Paths)
        {
            foreach (var (method, operation) in item.Operations ?? [])
            {
                var permission = permissions.FirstOrDefault(p =>
                    string.Equals(p.Path, path.TrimEnd('/'), StringComparison.OrdinalIgnoreCase) &&
                    string.Equals(p.Method, method.Method, StringComparison.OrdinalIgnoreCase)).Permission;
                if (permission is null) continue;
                operation.Security =
                [
                    new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Bearer, document)] = [] },
                    new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyAuthenticationHandler.SchemeName, document)] = [] },
                ];
                operation.Description = $"Requires the `{permission}` permission (a role's, or an API key's scope).";
            }
        }
        return Task.CompletedTask;
    }
}
