using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.XPath;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Storage;

namespace Dispatch.Grains.Cfs;

/// <summary>One narrative entry: its text, and its time where the CAD gives one (as written, and as read).</summary>
[GenerateSerializer, Immutable]
public sealed record CfsNarrativeEntry(string Text, DateTimeOffset? At = null, string? AtText = null);

/// <summary>
/// One call for service read from a CAD file, with the record's own XML kept for the encrypted <c>raw_xml</c>, and every warning
/// about what the mapping could not read (kept on the imported record and shown by the dry run).
/// </summary>
public sealed record CfsRecord
{
    public required string ExternalId { get; init; }
    public string? CallNumber { get; init; }
    public string? CallerName { get; init; }
    public string? CallerPhone { get; init; }
    public string? Description { get; init; }
    public string? Address { get; init; }
    public string? CrossStreets { get; init; }
    public string? Priority { get; init; }
    public string? Type { get; init; }
    public string? Nature { get; init; }
    public string? Status { get; init; }
    public DateTimeOffset? ReceivedAt { get; init; }

    /// <summary>receivedAt as the CAD wrote it.</summary>
    public string? ReceivedAtText { get; init; }

    public double? Latitude { get; init; }
    public double? Longitude { get; init; }
    public IReadOnlyList<string> Units { get; init; } = [];
    public IReadOnlyList<CfsNarrativeEntry> Narrative { get; init; } = [];

    /// <summary>The mapping's extra fields: a string each, or a list of strings for <c>combine: all</c>.</summary>
    public IReadOnlyDictionary<string, object> Extra { get; init; } = new Dictionary<string, object>();

    public required string RawXml { get; init; }
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>A file that cannot be imported, with a reason an administrator can act on.</summary>
public sealed class CfsFileException(string reason) : Exception(reason);

/// <summary>Reads a CAD export into records. Implementations are registered by name (<c>parser_class</c>).</summary>
public interface ICfsParser
{
    string Name { get; }

    /// <param name="zone">Where zone-less times are local when neither the field nor the mappings name a zone: the agency's.</param>
    IReadOnlyList<CfsRecord> Parse(Stream file, CfsMappings mappings, TimeZoneInfo zone);
}

/// <summary>The registered parsers; a configuration names one.</summary>
public static class CfsParsers
{
    private static readonly Dictionary<string, ICfsParser> Registered = new[] { (ICfsParser)new GenericXmlParser() }.ToDictionary(p => p.Name);

    public static IReadOnlyCollection<string> Names => Registered.Keys;

    public static ICfsParser? Find(string? name) => name is not null && Registered.TryGetValue(name, out var parser) ? parser : null;

    /// <summary>Reads <paramref name="file"/> with the parser named <paramref name="parserClass"/>; an unknown name fails the file like bad content.</summary>
    public static IReadOnlyList<CfsRecord> Parse(string parserClass, Stream file, CfsMappings mappings, TimeZoneInfo zone) =>
        (Find(parserClass) ?? throw new CfsFileException($"No parser named '{parserClass}'.")).Parse(file, mappings, zone);
}

/// <summary>
/// The generic XML parser, driven entirely by the mappings. Hardened: DTDs are prohibited (so no entity expansion and no
/// external entities), nothing is resolved, documents are bounded in characters, and the record count is capped. Encodings
/// come from the byte-order mark or the XML declaration: UTF-8 with or without BOM, UTF-16, ISO-8859-1 and the legacy code pages.
/// </summary>
public sealed class GenericXmlParser : ICfsParser
{
    public const string ParserName = "generic-xml";

    static GenericXmlParser() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    public string Name => ParserName;

    public IReadOnlyList<CfsRecord> Parse(Stream file, CfsMappings mappings, TimeZoneInfo zone)
    {
        var document = Load(file, mappings.FileLimit);
        var namespaces = mappings.NamespaceManager();
        var root = document.CreateNavigator();
        var nodes = new List<XPathNavigator>();
        if (mappings.RecordXPath is { } recordXPath)
        {
            var iterator = root.Select(XPathExpression.Compile(recordXPath, namespaces));
            while (iterator.MoveNext())
            {
                if (nodes.Count == mappings.RecordLimit)
                    throw new CfsFileException($"The file holds more than {mappings.RecordLimit} records (maxRecords).");
                nodes.Add(iterator.Current!.Clone());
            }
            if (nodes.Count == 0) throw new CfsFileException($"No record matches the record XPath '{recordXPath}'.");
        }
        else nodes.Add(DocumentElement(document));

        var reader = new RecordReader(mappings, namespaces, mappings.ZoneOr(zone));
        var records = new List<CfsRecord>(nodes.Count);
        var seen = new HashSet<string>();
        for (var i = 0; i < nodes.Count; i++)
        {
            var record = reader.Read(nodes[i], i + 1);
            if (!seen.Add(record.ExternalId))
                throw new CfsFileException($"Record {i + 1} repeats external id '{record.ExternalId}' within the file.");
            records.Add(record);
        }
        return records;
    }

    /// <summary>The document's root element (past any comment or processing instruction before it).</summary>
    public static XPathNavigator DocumentElement(XPathDocument document)
    {
        var root = document.CreateNavigator();
        root.MoveToFirstChild();
        while (root.NodeType != XPathNodeType.Element && root.MoveToNext()) { }
        return root;
    }

    /// <summary>How deep elements may nest in a CAD file.</summary>
    public const int MaxDepth = 64;

    /// <summary>The hardened read of a whole file into a navigable document.</summary>
    public static XPathDocument Load(Stream file, long maxCharacters)
    {
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            MaxCharactersFromEntities = 1024,
            MaxCharactersInDocument = maxCharacters, // characters never outnumber bytes in any supported encoding
            IgnoreComments = true,
            IgnoreProcessingInstructions = true,
            CloseInput = false,
        };
        try
        {
            // A document nested deeper than any CAD writes is refused before it is built (the proposer and XPath walk it recursively).
            if (!file.CanSeek)
            {
                var copy = new MemoryStream();
                file.CopyTo(copy);
                copy.Position = 0;
                file = copy;
            }
            var start = file.Position;
            using (var scan = XmlReader.Create(file, settings))
            {
                while (scan.Read())
                {
                    if (scan.Depth > MaxDepth)
                        throw new CfsFileException($"Unreadable XML: elements are nested more than {MaxDepth} deep (line {(scan as IXmlLineInfo)?.LineNumber}).");
                }
            }
            file.Position = start;
            using var reader = XmlReader.Create(file, settings);
            return new XPathDocument(reader);
        }
        catch (XmlException e)
        {
            throw new CfsFileException($"Unreadable XML: {e.Message}");
        }
        catch (ArgumentException e) // an encoding the declaration names but this system does not know
        {
            throw new CfsFileException($"Unsupported encoding: {e.Message}");
        }
    }

    /// <summary>Reads records with one configuration's compiled mappings.</summary>
    private sealed class RecordReader(CfsMappings mappings, XmlNamespaceManager namespaces, TimeZoneInfo zone)
    {
        private readonly Dictionary<string, Compiled> _fields = mappings.Fields.ToDictionary(f => f.Key, f => new Compiled(f.Value, namespaces));
        private readonly Dictionary<string, Compiled> _extra = (mappings.Extra ?? new Dictionary<string, FieldMapping>())
            .ToDictionary(f => f.Key, f => new Compiled(f.Value, namespaces));

        public CfsRecord Read(XPathNavigator node, int number)
        {
            var warnings = new List<string>();
            string? Text(string field) =>
                _fields.TryGetValue(field, out var f) ? Combine(field, f, Values(node, f), CfsMappings.Targets[field], warnings) : null;

            var externalId = Text("externalId");
            if (string.IsNullOrWhiteSpace(externalId))
                throw new CfsFileException($"Record {number} has no external id (fields.externalId matched nothing).");
            var priority = Text("priority");
            if (priority is not null && !IncidentPriority.IsValid(priority))
            {
                warnings.Add($"priority '{priority}' is not one of {string.Join(", ", IncidentPriority.All)}; map the CAD code with fields.priority.map.");
                priority = null;
            }
            var received = Text("receivedAt") is { } receivedText ? ReadTime("receivedAt", _fields["receivedAt"], receivedText, warnings) : null;
            var (latitude, longitude) = Position(Text("latitude"), Text("longitude"), Text("location"), warnings);
            return new CfsRecord
            {
                ExternalId = externalId,
                CallNumber = Text("callNumber"),
                CallerName = Text("callerName"),
                CallerPhone = Text("callerPhone"),
                Description = Text("description"),
                Address = Text("address"),
                CrossStreets = Text("crossStreets"),
                Priority = priority,
                Type = Text("type"),
                Nature = Text("nature"),
                Status = Text("status"),
                ReceivedAt = received?.Instant,
                ReceivedAtText = received?.Text,
                Latitude = latitude,
                Longitude = longitude,
                Units = _fields.TryGetValue("units", out var units) ? List(units, Values(node, units)) : [],
                Narrative = _fields.TryGetValue("narrative", out var narrative) ? Narrative(node, narrative, warnings) : [],
                Extra = _extra.Select(e => (e.Key, Value: Extra(e.Value, Values(node, e.Value)))).Where(e => e.Value is not null)
                    .ToDictionary(e => e.Key, e => e.Value!),
                RawXml = node.OuterXml,
                Warnings = warnings,
            };
        }

        private (double?, double?) Position(string? latitudeText, string? longitudeText, string? pointText, List<string> warnings)
        {
            double? latitude = latitudeText is null ? null : CfsValues.ReadNumber("latitude", latitudeText, CultureOf(_fields["latitude"]), warnings);
            double? longitude = longitudeText is null ? null : CfsValues.ReadNumber("longitude", longitudeText, CultureOf(_fields["longitude"]), warnings);
            if (pointText is not null && CfsValues.ReadPoint("location", pointText, warnings) is { } point && latitude is null && longitude is null)
                (latitude, longitude) = point;
            if (latitude is null != longitude is null)
            {
                warnings.Add("Only one of latitude and longitude was read; a position needs both, so none is stored.");
                return (null, null);
            }
            return CfsValues.OnTheGlobe(latitude, longitude, warnings) ? (latitude, longitude) : (null, null);
        }

        private CfsTime ReadTime(string field, Compiled f, string text, List<string> warnings) =>
            CfsValues.ReadTime(field, text, f.Mapping.Formats, CultureOf(f), f.Mapping.TimeZone is { } own ? Time.Zone(own) ?? zone : zone, warnings);

        private static CultureInfo CultureOf(Compiled f) =>
            f.Mapping.Culture is { } name ? CfsValues.Culture(name) ?? CultureInfo.InvariantCulture : CultureInfo.InvariantCulture;

        private static string? Combine(string field, Compiled f, IReadOnlyList<string> values, CfsFieldKind kind, List<string> warnings)
        {
            if (values.Count == 0) return f.Mapping.Default;
            var mode = f.Mapping.Combine ?? (kind == CfsFieldKind.Text ? CfsCombine.Join : null);
            if (mode is null && values.Count > 1)
                warnings.Add($"{field} matched {values.Count} values; the first was kept (say \"combine\": \"first\" or \"join\" in its mapping).");
            return mode == CfsCombine.Join ? string.Join(f.Mapping.Separator ?? CfsMappings.DefaultSeparator(field), values) : values[0];
        }

        private static IReadOnlyList<string> List(Compiled f, IReadOnlyList<string> values) =>
            f.Mapping.Combine == CfsCombine.First ? values.Take(1).ToList()
            : values.Count == 0 && f.Mapping.Default is { } fallback ? [fallback] : values.Distinct().ToList();

        private static object? Extra(Compiled f, IReadOnlyList<string> values) => (f.Mapping.Combine ?? CfsCombine.Join) switch
        {
            CfsCombine.All => values.ToList(),
            _ when values.Count == 0 => f.Mapping.Default,
            CfsCombine.First => values[0],
            _ => string.Join(f.Mapping.Separator ?? ", ", values),
        };

        private IReadOnlyList<CfsNarrativeEntry> Narrative(XPathNavigator node, Compiled f, List<string> warnings)
        {
            var entries = new List<CfsNarrativeEntry>();
            if (node.Evaluate(f.XPath) is not XPathNodeIterator matches) return Values(node, f).Select(t => new CfsNarrativeEntry(t)).ToList();
            while (matches.MoveNext())
            {
                var entry = matches.Current!;
                var text = f.Text is null ? Apply(f.Mapping, entry.Value) : string.Join(" ", Values(entry, f.Text, f.Mapping));
                if (string.IsNullOrEmpty(text)) continue;
                var time = f.Time is not null && Values(entry, f.Time, null).FirstOrDefault() is { } timeText
                    ? ReadTime("narrative time", f, timeText, warnings) : null;
                entries.Add(new CfsNarrativeEntry(text, time?.Instant, time?.Text));
            }
            return entries;
        }

        private static IReadOnlyList<string> Values(XPathNavigator node, Compiled f) => Values(node, f.XPath, f.Mapping);

        /// <summary>Every matched node's value (or the expression's one value), transformed and mapped, in document order; empty ones dropped.</summary>
        private static IReadOnlyList<string> Values(XPathNavigator node, XPathExpression xpath, FieldMapping? mapping)
        {
            var raw = new List<string>();
            switch (node.Evaluate(xpath))
            {
                case XPathNodeIterator nodes:
                    while (nodes.MoveNext()) raw.Add(nodes.Current!.Value);
                    break;
                case string s:
                    raw.Add(s);
                    break;
                case double d when !double.IsNaN(d):
                    raw.Add(d.ToString(CultureInfo.InvariantCulture));
                    break;
                case bool b:
                    raw.Add(b ? "true" : "false");
                    break;
            }
            return raw.Select(v => mapping is null ? v.Trim() : Apply(mapping, v)).Where(v => !string.IsNullOrEmpty(v)).ToList()!;
        }

        private static string? Apply(FieldMapping mapping, string value)
        {
            foreach (var t in mapping.Transforms ?? ["trim"])
                value = t switch
                {
                    "trim" => value.Trim(),
                    "upper" => value.ToUpperInvariant(),
                    "lower" => value.ToLowerInvariant(),
                    "collapse-whitespace" => string.Join(' ', value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)),
                    "digits" => new string(value.Where(c => char.IsAsciiDigit(c) || c == '+').ToArray()),
                    _ => value,
                };
            if (value.Length > 0 && mapping.Map is { } map)
                value = map.TryGetValue(value, out var mapped) ? mapped : map.TryGetValue("*", out var otherwise) ? otherwise : value;
            return value;
        }

        private sealed class Compiled(FieldMapping mapping, XmlNamespaceManager namespaces)
        {
            public FieldMapping Mapping { get; } = mapping;
            public XPathExpression XPath { get; } = XPathExpression.Compile(mapping.XPath, namespaces);
            public XPathExpression? Text { get; } = mapping.TextXPath is null ? null : XPathExpression.Compile(mapping.TextXPath, namespaces);
            public XPathExpression? Time { get; } = mapping.TimeXPath is null ? null : XPathExpression.Compile(mapping.TimeXPath, namespaces);
        }
    }
}
