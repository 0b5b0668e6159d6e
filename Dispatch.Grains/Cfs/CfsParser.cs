using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.XPath;
using Dispatch.Grains.Incidents;

namespace Dispatch.Grains.Cfs;

/// <summary>One call for service read from a CAD file, with the record's own XML kept for the encrypted <c>raw_xml</c>.</summary>
public sealed record CfsRecord(string ExternalId, string? CallerName, string? CallerPhone, string? Description, string? Address, string? Priority,
    string? Type, DateTimeOffset? ReceivedAt, string RawXml, IReadOnlyList<string> Warnings);

/// <summary>A file that cannot be imported, with a reason an administrator can act on.</summary>
public sealed class CfsFileException(string reason) : Exception(reason);

/// <summary>Reads a CAD export into records. Implementations are registered by name (<c>parser_class</c>).</summary>
public interface ICfsParser
{
    string Name { get; }

    IReadOnlyList<CfsRecord> Parse(Stream file, CfsMappings mappings);
}

/// <summary>The registered parsers; a configuration names one.</summary>
public static class CfsParsers
{
    private static readonly Dictionary<string, ICfsParser> Registered = new[] { (ICfsParser)new GenericXmlParser() }.ToDictionary(p => p.Name);

    public static IReadOnlyCollection<string> Names => Registered.Keys;

    public static ICfsParser? Find(string? name) => name is not null && Registered.TryGetValue(name, out var parser) ? parser : null;

    /// <summary>Reads <paramref name="file"/> with the parser named <paramref name="parserClass"/>; an unknown name fails the file like bad content.</summary>
    public static IReadOnlyList<CfsRecord> Parse(string parserClass, Stream file, CfsMappings mappings) =>
        (Find(parserClass) ?? throw new CfsFileException($"No parser named '{parserClass}'.")).Parse(file, mappings);
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

    public IReadOnlyList<CfsRecord> Parse(Stream file, CfsMappings mappings)
    {
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            MaxCharactersFromEntities = 1024,
            MaxCharactersInDocument = mappings.FileLimit, // characters never outnumber bytes in any supported encoding
            IgnoreComments = true,
            IgnoreProcessingInstructions = true,
            CloseInput = false,
        };
        XPathDocument document;
        try
        {
            using var reader = XmlReader.Create(file, settings);
            document = new XPathDocument(reader);
        }
        catch (XmlException e)
        {
            throw new CfsFileException($"Unreadable XML: {e.Message}");
        }
        catch (ArgumentException e) // an encoding the declaration names but this system does not know
        {
            throw new CfsFileException($"Unsupported encoding: {e.Message}");
        }

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
        else
        {
            root.MoveToFirstChild();
            while (root.NodeType != XPathNodeType.Element && root.MoveToNext()) { }
            nodes.Add(root);
        }

        var fields = mappings.Fields.ToDictionary(f => f.Key, f => (Mapping: f.Value, XPath: XPathExpression.Compile(f.Value.XPath, namespaces)));
        var records = new List<CfsRecord>(nodes.Count);
        var seen = new HashSet<string>();
        for (var i = 0; i < nodes.Count; i++)
        {
            var warnings = new List<string>();
            string? Read(string field) =>
                fields.TryGetValue(field, out var f) ? Apply(f.Mapping, Evaluate(nodes[i], f.XPath)) : null;
            var externalId = Read("externalId");
            if (string.IsNullOrWhiteSpace(externalId))
                throw new CfsFileException($"Record {i + 1} has no external id (fields.externalId matched nothing).");
            if (!seen.Add(externalId))
                throw new CfsFileException($"Record {i + 1} repeats external id '{externalId}' within the file.");
            var priority = Read("priority");
            if (priority is not null && !IncidentPriority.IsValid(priority))
            {
                warnings.Add($"priority '{priority}' is not one of {string.Join(", ", IncidentPriority.All)}; map the CAD code with fields.priority.map.");
                priority = null;
            }
            var receivedText = Read("receivedAt");
            DateTimeOffset? receivedAt = null;
            if (receivedText is not null)
            {
                if (DateTimeOffset.TryParse(receivedText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)) receivedAt = parsed.ToUniversalTime();
                else warnings.Add($"receivedAt '{receivedText}' is not a date and time.");
            }
            records.Add(new CfsRecord(externalId, Read("callerName"), Read("callerPhone"), Read("description"), Read("address"), priority,
                Read("type"), receivedAt, nodes[i].OuterXml, warnings));
        }
        return records;
    }

    private static string? Evaluate(XPathNavigator record, XPathExpression xpath)
    {
        var result = record.Evaluate(xpath);
        return result switch
        {
            XPathNodeIterator nodes => nodes.MoveNext() ? nodes.Current!.Value : null,
            string s => s.Length == 0 ? null : s,
            double d => double.IsNaN(d) ? null : d.ToString(CultureInfo.InvariantCulture),
            bool b => b ? "true" : "false",
            _ => null,
        };
    }

    private static string? Apply(FieldMapping mapping, string? value)
    {
        if (value is not null)
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
        if (value is not null && mapping.Map is { } map)
            value = map.TryGetValue(value, out var mapped) ? mapped : map.TryGetValue("*", out var otherwise) ? otherwise : value;
        return string.IsNullOrEmpty(value) ? mapping.Default : value;
    }
}
