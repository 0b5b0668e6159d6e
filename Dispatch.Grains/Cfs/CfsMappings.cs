using System.Text.Json;
using System.Text.Json.Serialization;
using System.Xml;
using System.Xml.XPath;

namespace Dispatch.Grains.Cfs;

/// <summary>How one target field is read from a record: an XPath relative to the record, then transforms, a value map and a default.</summary>
public sealed record FieldMapping([property: JsonPropertyName("xpath")] string XPath, IReadOnlyList<string>? Transforms = null, IReadOnlyDictionary<string, string>? Map = null,
    string? Default = null);

/// <summary>
/// Raising incidents without a dispatcher: a new call whose mapped priority is set and whose mapped type (or <c>"*"</c>) names
/// companies becomes an incident assigned to them, in the import's own transaction.
/// </summary>
public sealed record CfsAutoCreate(IReadOnlyDictionary<string, IReadOnlyList<Guid>> CompaniesByType)
{
    public IReadOnlyList<Guid> CompaniesFor(string? type) =>
        type is not null && CompaniesByType.TryGetValue(type, out var companies) ? companies
        : CompaniesByType.TryGetValue("*", out var fallback) ? fallback : [];
}

/// <summary>
/// A configuration's <c>field_mappings</c>: the record XPath for files holding several calls (none: the document element is the
/// one record), namespace prefixes used by the XPaths, the mapping of each target field, and the limits a file must stay within.
/// </summary>
public sealed record CfsMappings(
    string? RecordXPath,
    IReadOnlyDictionary<string, string>? Namespaces,
    IReadOnlyDictionary<string, FieldMapping> Fields,
    int? MaxRecords = null,
    long? MaxFileBytes = null,
    string? MarkerSuffix = null,
    CfsAutoCreate? AutoCreate = null)
{
    public const int DefaultMaxRecords = 1000;
    public const long DefaultMaxFileBytes = 10 * 1024 * 1024;
    public const long MaxAllowedFileBytes = 100 * 1024 * 1024;

    /// <summary>The fields a mapping may fill; <c>externalId</c> is required.</summary>
    public static IReadOnlyList<string> TargetFields { get; } =
        ["externalId", "callerName", "callerPhone", "description", "address", "priority", "type", "receivedAt"];

    public static IReadOnlyList<string> KnownTransforms { get; } = ["trim", "upper", "lower", "collapse-whitespace", "digits"];

    private static readonly JsonSerializerOptions Json = new(JsonSerializerOptions.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public int RecordLimit => MaxRecords ?? DefaultMaxRecords;
    public long FileLimit => MaxFileBytes ?? DefaultMaxFileBytes;

    /// <summary>Why a file of <paramref name="length"/> bytes is refused unread, or null when it is within <see cref="FileLimit"/>.</summary>
    public string? SizeError(long length) =>
        length > FileLimit ? $"The file is {length} bytes, over the limit of {FileLimit} (maxFileBytes)." : null;

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static CfsMappings FromJson(string json) => JsonSerializer.Deserialize<CfsMappings>(json, Json)
        ?? throw new JsonException("field_mappings is empty.");

    /// <summary>Everything wrong with these mappings, by JSON path, for a 400 problem; empty when they are usable.</summary>
    public IReadOnlyList<(string Field, string Message)> Validate()
    {
        var errors = new List<(string, string)>();
        var namespaces = NamespaceManager();
        if (RecordXPath is not null && !Compiles(RecordXPath, namespaces, out var recordError))
            errors.Add(("fieldMappings.recordXPath", recordError!));
        foreach (var (prefix, uri) in Namespaces ?? new Dictionary<string, string>())
            if (string.IsNullOrWhiteSpace(prefix) || !XmlReader.IsName(prefix) || prefix.Contains(':') || string.IsNullOrWhiteSpace(uri))
                errors.Add(($"fieldMappings.namespaces.{prefix}", "A namespace needs an XML name as prefix and a non-empty URI."));
        if (Fields is null || !Fields.ContainsKey("externalId"))
            errors.Add(("fieldMappings.fields.externalId", "externalId must be mapped: it identifies a call across CAD updates."));
        foreach (var (name, field) in Fields ?? new Dictionary<string, FieldMapping>())
        {
            if (!TargetFields.Contains(name))
                errors.Add(($"fieldMappings.fields.{name}", $"Unknown target field; known: {string.Join(", ", TargetFields)}."));
            else if (field?.XPath is null)
                errors.Add(($"fieldMappings.fields.{name}.xpath", "xpath is required."));
            else if (!Compiles(field.XPath, namespaces, out var error))
                errors.Add(($"fieldMappings.fields.{name}.xpath", error!));
            foreach (var t in field?.Transforms ?? [])
                if (!KnownTransforms.Contains(t))
                    errors.Add(($"fieldMappings.fields.{name}.transforms", $"Unknown transform '{t}'; known: {string.Join(", ", KnownTransforms)}."));
        }
        if (MaxRecords is < 1 or > 100_000) errors.Add(("fieldMappings.maxRecords", "maxRecords must be between 1 and 100000."));
        if (MaxFileBytes is < 1 or > MaxAllowedFileBytes) errors.Add(("fieldMappings.maxFileBytes", $"maxFileBytes must be between 1 and {MaxAllowedFileBytes}."));
        if (MarkerSuffix is not null && (MarkerSuffix.Length is < 2 or > 32 || MarkerSuffix.IndexOfAny(['/', '\\', '*', '?']) >= 0))
            errors.Add(("fieldMappings.markerSuffix", "markerSuffix is a short file suffix such as \".done\"."));
        if (AutoCreate is { } auto && (auto.CompaniesByType is null || auto.CompaniesByType.Count == 0 || auto.CompaniesByType.Values.Any(v => v is null || v.Count == 0)))
            errors.Add(("fieldMappings.autoCreate.companiesByType", "companiesByType maps a type (or \"*\") to one or more company ids."));
        if (AutoCreate is not null && !(Fields?.ContainsKey("priority") ?? false))
            errors.Add(("fieldMappings.autoCreate", "Automatic creation needs fields.priority: an incident cannot be raised without one."));
        return errors;
    }

    /// <summary>Every company the automatic creation may assign.</summary>
    public IReadOnlyList<Guid> AutoCreateCompanies => AutoCreate?.CompaniesByType?.Values.SelectMany(v => v ?? []).Distinct().ToList() ?? [];

    public XmlNamespaceManager NamespaceManager()
    {
        var manager = new XmlNamespaceManager(new NameTable());
        foreach (var (prefix, uri) in Namespaces ?? new Dictionary<string, string>())
            if (!string.IsNullOrWhiteSpace(prefix) && XmlReader.IsName(prefix) && !prefix.Contains(':') && !string.IsNullOrWhiteSpace(uri))
                manager.AddNamespace(prefix, uri);
        return manager;
    }

    private static bool Compiles(string xpath, XmlNamespaceManager namespaces, out string? error)
    {
        try
        {
            var compiled = XPathExpression.Compile(xpath, namespaces);
            error = null;
            return compiled is not null;
        }
        catch (XPathException e)
        {
            error = $"Not a valid XPath: {e.Message}";
            return false;
        }
    }
}
