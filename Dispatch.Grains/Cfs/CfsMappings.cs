using System.Text.Json;
using System.Text.Json.Serialization;
using System.Xml;
using System.Xml.XPath;
using Dispatch.Grains.Storage;

namespace Dispatch.Grains.Cfs;

/// <summary>
/// How one target field is read from a record: an XPath relative to the record, transforms and a value map applied to each matched
/// value, how several matches combine, a default when nothing matched; for times and numbers the exact formats and the culture
/// they are written in, and for zone-less times the zone they are local to. A narrative reads each matched entry's text and time
/// through <see cref="TextXPath"/> and <see cref="TimeXPath"/>, relative to the entry.
/// </summary>
public sealed record FieldMapping(
    [property: JsonPropertyName("xpath")] string XPath,
    IReadOnlyList<string>? Transforms = null,
    IReadOnlyDictionary<string, string>? Map = null,
    string? Default = null,
    string? Combine = null,
    string? Separator = null,
    IReadOnlyList<string>? Formats = null,
    string? Culture = null,
    string? TimeZone = null,
    [property: JsonPropertyName("textXPath")] string? TextXPath = null,
    [property: JsonPropertyName("timeXPath")] string? TimeXPath = null);

/// <summary>What a target field holds, which decides how it is read, how several matches combine by default, and what it may declare.</summary>
public enum CfsFieldKind
{
    /// <summary>One value (an id, a code, a phone number): several matches keep the first, with a warning, unless the mapping says how to combine.</summary>
    Single,

    /// <summary>Free text: several matches are joined in document order.</summary>
    Text,

    /// <summary>A point in time: ISO 8601 unless formats are declared; zone-less values are local to the field's or configuration's zone.</summary>
    Time,

    /// <summary>A decimal number (a coordinate), in the invariant culture unless one is declared.</summary>
    Number,

    /// <summary>A WKT <c>POINT (longitude latitude)</c>, giving latitude and longitude.</summary>
    Point,

    /// <summary>Several values (units): every match, in document order.</summary>
    List,

    /// <summary>Entries of text, each with its own time where the CAD gives one.</summary>
    Narrative,
}

/// <summary>How the values of several matched nodes make a field's value.</summary>
public static class CfsCombine
{
    public const string First = "first";
    public const string Join = "join";
    public const string All = "all";

    public static IReadOnlyList<string> Modes { get; } = [First, Join, All];

    /// <summary>The modes a field of <paramref name="kind"/> accepts (extra fields: any).</summary>
    public static IReadOnlyList<string> AllowedFor(CfsFieldKind kind) => kind switch
    {
        CfsFieldKind.Single or CfsFieldKind.Text => [First, Join],
        CfsFieldKind.List => [First, All],
        CfsFieldKind.Narrative => [All],
        _ => [First],
    };
}

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
    CfsAutoCreate? AutoCreate = null,
    string? TimeZone = null,
    IReadOnlyDictionary<string, FieldMapping>? Extra = null)
{
    public const int DefaultMaxRecords = 1000;
    public const long DefaultMaxFileBytes = 10 * 1024 * 1024;
    public const long MaxAllowedFileBytes = 100 * 1024 * 1024;

    public const int MaxExtraFields = 50;

    /// <summary>The fields a mapping may fill, and what each holds; <c>externalId</c> is required.</summary>
    public static IReadOnlyDictionary<string, CfsFieldKind> Targets { get; } = new Dictionary<string, CfsFieldKind>
    {
        ["externalId"] = CfsFieldKind.Single,
        ["callNumber"] = CfsFieldKind.Single,
        ["callerName"] = CfsFieldKind.Single,
        ["callerPhone"] = CfsFieldKind.Single,
        ["priority"] = CfsFieldKind.Single,
        ["type"] = CfsFieldKind.Single,
        ["status"] = CfsFieldKind.Single,
        ["nature"] = CfsFieldKind.Text,
        ["description"] = CfsFieldKind.Text,
        ["address"] = CfsFieldKind.Text,
        ["crossStreets"] = CfsFieldKind.Text,
        ["receivedAt"] = CfsFieldKind.Time,
        ["latitude"] = CfsFieldKind.Number,
        ["longitude"] = CfsFieldKind.Number,
        ["location"] = CfsFieldKind.Point,
        ["units"] = CfsFieldKind.List,
        ["narrative"] = CfsFieldKind.Narrative,
    };

    public static IReadOnlyList<string> TargetFields => [.. Targets.Keys];

    /// <summary>What joins several values when a mapping names no separator.</summary>
    public static string DefaultSeparator(string field) => field switch
    {
        "description" => "\n",
        "crossStreets" => " / ",
        "address" or "nature" => " ",
        _ => ", ",
    };

    public static IReadOnlyList<string> KnownTransforms { get; } = ["trim", "upper", "lower", "collapse-whitespace", "digits"];

    private static readonly JsonSerializerOptions Json = new(JsonSerializerOptions.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    [JsonIgnore]
    public int RecordLimit => MaxRecords ?? DefaultMaxRecords;

    [JsonIgnore]
    public long FileLimit => MaxFileBytes ?? DefaultMaxFileBytes;

    /// <summary>Why a file of <paramref name="length"/> bytes is refused unread, or null when it is within <see cref="FileLimit"/>.</summary>
    public string? SizeError(long length) =>
        length > FileLimit ? $"The file is {length} bytes, over the limit of {FileLimit} (maxFileBytes)." : null;

    /// <summary>Where zone-less times are local: the mappings' own <see cref="TimeZone"/>, else <paramref name="agencyZone"/>.</summary>
    public TimeZoneInfo ZoneOr(TimeZoneInfo agencyZone) => Time.Zone(TimeZone) ?? agencyZone;

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
            if (!Targets.TryGetValue(name, out var kind))
                errors.Add(($"fieldMappings.fields.{name}", $"Unknown target field; known: {string.Join(", ", TargetFields)} (anything else goes under extra)."));
            else ValidateField($"fieldMappings.fields.{name}", field, kind, namespaces, errors);
        }
        if (Extra is { Count: > MaxExtraFields }) errors.Add(("fieldMappings.extra", $"At most {MaxExtraFields} extra fields."));
        foreach (var (name, field) in Extra ?? new Dictionary<string, FieldMapping>())
        {
            if (name.Length is 0 or > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
                errors.Add(($"fieldMappings.extra.{name}", "An extra field's name is 1 to 64 letters, digits, '_', '-' or '.'."));
            else ValidateField($"fieldMappings.extra.{name}", field, null, namespaces, errors);
        }
        if (TimeZone is not null && Time.Zone(TimeZone) is null)
            errors.Add(("fieldMappings.timeZone", "timeZone must be an IANA time zone such as Europe/Berlin."));
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
    [JsonIgnore]
    public IReadOnlyList<Guid> AutoCreateCompanies => AutoCreate?.CompaniesByType?.Values.SelectMany(v => v ?? []).Distinct().ToList() ?? [];

    /// <summary>One field's mapping; <paramref name="kind"/> is null for an extra field (text, any combine mode).</summary>
    private static void ValidateField(string path, FieldMapping? field, CfsFieldKind? kind, XmlNamespaceManager namespaces, List<(string, string)> errors)
    {
        if (field?.XPath is null)
        {
            errors.Add(($"{path}.xpath", "xpath is required."));
            return;
        }
        if (!Compiles(field.XPath, namespaces, out var error)) errors.Add(($"{path}.xpath", error!));
        foreach (var t in field.Transforms ?? [])
            if (!KnownTransforms.Contains(t))
                errors.Add(($"{path}.transforms", $"Unknown transform '{t}'; known: {string.Join(", ", KnownTransforms)}."));
        var modes = kind is { } k ? CfsCombine.AllowedFor(k) : CfsCombine.Modes;
        if (field.Combine is not null && !modes.Contains(field.Combine))
            errors.Add(($"{path}.combine", $"combine is one of: {string.Join(", ", modes)} for this field."));
        if (field.Separator is { Length: > 16 }) errors.Add(($"{path}.separator", "separator is at most 16 characters."));
        var timed = kind is CfsFieldKind.Time or CfsFieldKind.Narrative;
        if (field.Formats is not null)
        {
            if (!timed) errors.Add(($"{path}.formats", "formats apply to times: receivedAt and narrative."));
            else if (field.Formats.Count == 0 || field.Formats.Any(f => !CfsValues.IsFormat(f)))
                errors.Add(($"{path}.formats", "formats are one or more .NET custom date and time format strings, such as yyyyMMddHHmmss or dd.MM.yyyy HH:mm:ss."));
        }
        if (field.Culture is not null && (!(timed || kind is CfsFieldKind.Number or CfsFieldKind.Point) || CfsValues.Culture(field.Culture) is null))
            errors.Add(($"{path}.culture", timed || kind is CfsFieldKind.Number or CfsFieldKind.Point
                ? "culture must be a known culture name such as de-DE or en-US." : "culture applies to times and numbers."));
        if (field.TimeZone is not null && (!timed || Time.Zone(field.TimeZone) is null))
            errors.Add(($"{path}.timeZone", timed ? "timeZone must be an IANA time zone such as America/Chicago." : "timeZone applies to times: receivedAt and narrative."));
        if ((field.TextXPath is not null || field.TimeXPath is not null) && kind is not CfsFieldKind.Narrative)
            errors.Add(($"{path}", "textXPath and timeXPath apply to the narrative."));
        foreach (var (name, sub) in new[] { ("textXPath", field.TextXPath), ("timeXPath", field.TimeXPath) })
            if (sub is not null && !Compiles(sub, namespaces, out var subError)) errors.Add(($"{path}.{name}", subError!));
    }

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
