using Dispatch.Api.Auth;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Dispatch.Api.Http;

/// <summary>Declares the two ways in (Bearer JWT, ApiKey) and, per operation, that it needs one of them and which permission.</summary>
public sealed class SecuritySchemes : IOpenApiDocumentTransformer, IOpenApiOperationTransformer
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
        return Task.CompletedTask;
    }

    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var permission = context.Description.ActionDescriptor.EndpointMetadata.OfType<RequiresPermission>().FirstOrDefault()?.Permission;
        if (permission is null) return Task.CompletedTask;
        operation.Security =
        [
            new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Bearer, context.Document)] = [] },
            new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyAuthenticationHandler.SchemeName, context.Document)] = [] },
        ];
        operation.Description = $"Requires the `{permission}` permission (a role's, or an API key's scope).";
        operation.Responses ??= new OpenApiResponses();
        operation.Responses.TryAdd("401", new OpenApiResponse { Description = "No credentials, or expired or revoked ones (problem details)." });
        operation.Responses.TryAdd("403", new OpenApiResponse { Description = $"The caller lacks `{permission}` (problem details)." });
        return Task.CompletedTask;
    }
}
