using System.Reflection;
using System.Text.Json;
using FastEndpoints;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Dispatch.Api.Http;

/// <summary>
/// Describes a FastEndpoints endpoint's request as FastEndpoints binds it: route values from the route, <c>[FromHeader]</c>
/// properties as headers, the rest from the query on a GET or DELETE and from the JSON body otherwise (the API explorer sees only
/// "a body of the request type", even for a GET).
/// </summary>
public sealed class EndpointParameters : IOpenApiOperationTransformer
{
    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.Description.ActionDescriptor.EndpointMetadata.OfType<EndpointDefinition>().FirstOrDefault() is not { } definition)
            return Task.CompletedTask;
        var path = context.Description.RelativePath ?? "";
        var properties = definition.ReqDtoType.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).ToList();
        var parameters = new List<IOpenApiParameter>();
        var inBody = new List<PropertyInfo>();
        var readsBody = context.Description.HttpMethod is not ("GET" or "DELETE" or "HEAD");
        foreach (var property in properties)
        {
            var name = JsonNamingPolicy.CamelCase.ConvertName(property.Name);
            if (path.Contains('{' + name, StringComparison.OrdinalIgnoreCase))
                parameters.Add(Parameter(name, ParameterLocation.Path, property.PropertyType, required: true));
            else if (property.GetCustomAttribute<FromHeaderAttribute>() is { } header)
                parameters.Add(Parameter(header.HeaderName ?? property.Name, ParameterLocation.Header, property.PropertyType, header.IsRequired));
            else if (!readsBody)
                parameters.Add(Parameter(name, ParameterLocation.Query, property.PropertyType, required: false));
            else
                inBody.Add(property);
        }
        operation.Parameters = parameters;
        if (inBody.Count == 0) operation.RequestBody = null;
        return Task.CompletedTask;
    }

    private static OpenApiParameter Parameter(string name, ParameterLocation location, Type type, bool required) => new()
    {
        Name = name,
        In = location,
        Required = required,
        Schema = Schema(Nullable.GetUnderlyingType(type) ?? type),
    };

    private static OpenApiSchema Schema(Type type) => type switch
    {
        _ when type == typeof(int) || type == typeof(long) => new OpenApiSchema { Type = JsonSchemaType.Integer, Format = type == typeof(int) ? "int32" : "int64" },
        _ when type == typeof(bool) => new OpenApiSchema { Type = JsonSchemaType.Boolean },
        _ when type == typeof(Guid) => new OpenApiSchema { Type = JsonSchemaType.String, Format = "uuid" },
        _ when type == typeof(DateTimeOffset) || type == typeof(DateTime) => new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time" },
        _ => new OpenApiSchema { Type = JsonSchemaType.String },
    };
}
