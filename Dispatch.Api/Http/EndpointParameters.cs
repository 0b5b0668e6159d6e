using System.Reflection;
using System.Text.RegularExpressions;
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
public sealed partial class EndpointParameters : IOpenApiOperationTransformer
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
        // Route values an endpoint reads itself (one without a request object) are parameters all the same.
        foreach (Match match in RouteValue().Matches(path))
            if (!parameters.Any(p => p.In == ParameterLocation.Path && p.Name == match.Groups["name"].Value))
                parameters.Add(Parameter(match.Groups["name"].Value, ParameterLocation.Path,
                    match.Groups["constraint"].Value == "guid" ? typeof(Guid) : typeof(string), required: true));
        operation.Parameters = parameters;
        if (context.Description.ActionDescriptor.EndpointMetadata.OfType<FileBody>().FirstOrDefault() is { } file) operation.RequestBody = file.Describe();
        else if (inBody.Count == 0) operation.RequestBody = null;
        return Task.CompletedTask;
    }

    [GeneratedRegex(@"\{(?<name>\w+)(?::(?<constraint>\w+))?\}")]
    private static partial Regex RouteValue();

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

/// <summary>
/// Endpoint metadata: the request body is a file read as it comes (a CAD sample), not JSON; with <see cref="FormFields"/> it may
/// also come as a form holding the file as <c>file</c> and those text fields.
/// </summary>
public sealed record FileBody(string Description, params string[] FormFields)
{
    public OpenApiRequestBody Describe()
    {
        var content = new Dictionary<string, OpenApiMediaType>
        {
            ["application/xml"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" } },
        };
        if (FormFields.Length > 0)
        {
            var properties = new Dictionary<string, IOpenApiSchema> { ["file"] = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" } };
            foreach (var field in FormFields) properties[field] = new OpenApiSchema { Type = JsonSchemaType.String };
            content["multipart/form-data"] = new OpenApiMediaType
            {
                Schema = new OpenApiSchema { Type = JsonSchemaType.Object, Properties = properties, Required = new HashSet<string> { "file" } },
            };
        }
        return new OpenApiRequestBody { Required = true, Description = Description, Content = content };
    }
}
