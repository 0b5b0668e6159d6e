using System.Text;
using Dispatch.Grains.Cfs;

namespace Dispatch.Tests.Cfs;

/// <summary>The generic XML parser over files of the shapes CAD systems export, and over hostile ones.</summary>
public sealed class CfsParserTests
{
    private static readonly GenericXmlParser Parser = new();

    private static IReadOnlyList<CfsRecord> Parse(byte[] file, CfsMappings mappings)
    {
        Assert.Empty(mappings.Validate());
        return Parser.Parse(new MemoryStream(file), mappings, TimeZoneInfo.Utc);
    }

    private static byte[] Utf8(string xml, bool bom = false) => [.. bom ? Encoding.UTF8.GetPreamble() : [], .. Encoding.UTF8.GetBytes(xml)];

    /// <summary>Several calls per file in a default namespace, values in elements and attributes, CDATA, a code map for priority.</summary>
    public static CfsMappings MultiRecord => new("/c:Export/c:Call", new Dictionary<string, string> { ["c"] = "urn:example:cad:v2" },
        new Dictionary<string, FieldMapping>
        {
            ["externalId"] = new("@id"),
            ["callerName"] = new("c:Caller/c:Name", ["collapse-whitespace"]),
            ["callerPhone"] = new("c:Caller/@phone", ["digits"]),
            ["description"] = new("c:Narrative"),
            ["address"] = new("concat(c:Location/c:Street, ', ', c:Location/c:City)"),
            ["priority"] = new("c:Priority", ["trim", "upper"], new Dictionary<string, string> { ["P1"] = "irod", ["P2"] = "critical", ["*"] = "routine_special" }),
            ["type"] = new("c:Nature", ["lower"]),
            ["receivedAt"] = new("c:Received"),
        });

    private const string MultiRecordXml = """
        <?xml version="1.0" encoding="UTF-8"?>
        <Export xmlns="urn:example:cad:v2">
          <Call id="CFS-1001">
            <Caller phone="+1 (555) 010-2030"><Name>  Ada
               Lovelace </Name></Caller>
            <Narrative><![CDATA[Smell of gas <strong> near school & gym]]></Narrative>
            <Location><Street>12 Elm Street</Street><City>Springfield</City></Location>
            <Priority> p1 </Priority><Nature>GAS LEAK</Nature><Received>2026-11-22T09:15:00-05:00</Received>
          </Call>
          <Call id="CFS-1002">
            <Caller phone="555 0199"><Name>Grace Hopper</Name></Caller>
            <Narrative>Wires down</Narrative>
            <Location><Street>3 Oak Road</Street><City>Springfield</City></Location>
            <Priority>P9</Priority><Nature>Wires</Nature>
          </Call>
        </Export>
        """;

    [Fact]
    public void Multi_record_file_with_a_default_namespace_attributes_cdata_and_a_priority_code_map()
    {
        var records = Parse(Utf8(MultiRecordXml, bom: true), MultiRecord);

        Assert.Equal(["CFS-1001", "CFS-1002"], records.Select(r => r.ExternalId));
        var first = records[0];
        Assert.Equal(("Ada Lovelace", "+15550102030"), (first.CallerName, first.CallerPhone));
        Assert.Equal("Smell of gas <strong> near school & gym", first.Description);
        Assert.Equal("12 Elm Street, Springfield", first.Address);
        Assert.Equal(("irod", "gas leak"), (first.Priority, first.Type));
        Assert.Equal(new DateTimeOffset(2026, 11, 22, 14, 15, 0, TimeSpan.Zero), first.ReceivedAt);
        Assert.Contains("CFS-1001", first.RawXml);
        Assert.DoesNotContain("CFS-1002", first.RawXml); // each record keeps its own XML
        Assert.Equal("routine_special", records[1].Priority); // unknown code: the map's "*"
        Assert.Null(records[1].ReceivedAt);
    }

    [Fact]
    public void Single_record_file_with_prefixed_namespaces_in_iso_8859_1()
    {
        const string xml = """
            <?xml version="1.0" encoding="ISO-8859-1"?>
            <cad:Incident xmlns:cad="http://cad.example/schema" xmlns:p="http://cad.example/person" number="77-3">
              <p:Reporter><p:FullName>José Müller</p:FullName><p:Tel>0171 555 0100</p:Tel></p:Reporter>
              <cad:Where>Straße der Einheit 5</cad:Where>
              <cad:What>Wasserrohrbruch</cad:What>
            </cad:Incident>
            """;
        var mappings = new CfsMappings(null, new Dictionary<string, string> { ["x"] = "http://cad.example/schema", ["per"] = "http://cad.example/person" },
            new Dictionary<string, FieldMapping>
            {
                ["externalId"] = new("@number"), ["callerName"] = new("per:Reporter/per:FullName"), ["callerPhone"] = new("per:Reporter/per:Tel"),
                ["address"] = new("x:Where"), ["description"] = new("x:What"), ["priority"] = new("x:Missing", Default: "dangerous"),
            });

        var record = Assert.Single(Parse(Encoding.Latin1.GetBytes(xml), mappings));

        Assert.Equal(("77-3", "José Müller", "Straße der Einheit 5"), (record.ExternalId, record.CallerName, record.Address));
        Assert.Equal("dangerous", record.Priority); // nothing matched: the default
    }

    [Fact]
    public void Utf16_and_legacy_code_pages_are_read_from_the_bom_and_the_declaration()
    {
        var mappings = new CfsMappings(null, null, new Dictionary<string, FieldMapping> { ["externalId"] = new("@id"), ["description"] = new("text()") });
        var utf16 = Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes("<?xml version=\"1.0\" encoding=\"UTF-16\"?><call id=\"u16\">Überflutung</call>")).ToArray();
        var cp1252 = Encoding.GetEncoding(1252).GetBytes("<?xml version=\"1.0\" encoding=\"windows-1252\"?><call id=\"w\">Caf\u00e9 \u20ac5</call>");

        Assert.Equal("Überflutung", Assert.Single(Parse(utf16, mappings)).Description);
        Assert.Equal("Café €5", Assert.Single(Parse(cp1252, mappings)).Description);
    }

    [Fact]
    public void An_entity_expansion_bomb_is_refused_before_anything_expands()
    {
        var bomb = new StringBuilder("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">");
        for (var i = 1; i <= 9; i++) bomb.Append($"<!ENTITY lol{i} \"{string.Concat(Enumerable.Repeat($"&lol{(i == 1 ? "" : i - 1)};", 10))}\">");
        bomb.Append("]><call id=\"x\">&lol9;</call>");
        var external = "<?xml version=\"1.0\"?><!DOCTYPE call [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><call id=\"x\">&xxe;</call>";
        var mappings = new CfsMappings(null, null, new Dictionary<string, FieldMapping> { ["externalId"] = new("@id"), ["description"] = new("text()") });

        var e = Assert.Throws<CfsFileException>(() => Parse(Utf8(bomb.ToString()), mappings));
        Assert.Contains("DTD", e.Message);
        Assert.Contains("DTD", Assert.Throws<CfsFileException>(() => Parse(Utf8(external), mappings)).Message);
    }

    [Fact]
    public void Malformed_files_and_bad_records_fail_with_a_readable_reason()
    {
        var mappings = MultiRecord;
        Assert.Contains("Unreadable XML", Assert.Throws<CfsFileException>(() => Parse(Utf8("<Export><Call id=\"1\">"), mappings)).Message);
        Assert.Contains("No record matches", Assert.Throws<CfsFileException>(() => Parse(Utf8("<Other/>"), mappings)).Message);
        var noId = MultiRecordXml.Replace("id=\"CFS-1002\"", "");
        Assert.Contains("Record 2 has no external id", Assert.Throws<CfsFileException>(() => Parse(Utf8(noId), mappings)).Message);
        var tooMany = mappings with { MaxRecords = 1 };
        Assert.Contains("more than 1 records", Assert.Throws<CfsFileException>(() => Parse(Utf8(MultiRecordXml), tooMany)).Message);
        var small = mappings with { MaxFileBytes = 200 };
        Assert.Contains("Unreadable XML", Assert.Throws<CfsFileException>(() => Parse(Utf8(MultiRecordXml), small)).Message);
    }

    [Fact]
    public void Mappings_are_validated_field_by_field()
    {
        var bad = new CfsMappings("//c:Call[", new Dictionary<string, string> { ["c"] = "urn:x" }, new Dictionary<string, FieldMapping>
        {
            ["callerName"] = new("q:Name"), ["shoeSize"] = new("@size"), ["address"] = new("Street", ["shout"]),
        }, MaxRecords: 0);

        var fields = bad.Validate().Select(e => e.Field).ToList();

        Assert.Contains("fieldMappings.recordXPath", fields);
        Assert.Contains("fieldMappings.fields.externalId", fields);
        Assert.Contains("fieldMappings.fields.callerName.xpath", fields); // undeclared prefix
        Assert.Contains("fieldMappings.fields.shoeSize", fields);
        Assert.Contains("fieldMappings.fields.address.transforms", fields);
        Assert.Contains("fieldMappings.maxRecords", fields);
        Assert.Empty(MultiRecord.Validate());
    }
}
