using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace Dispatch.Grains.Eido;

/// <summary>What a PIDF-LO location says, as far as it could be read: a civic address composed into one line, and/or a point.</summary>
public sealed record PidfLocation(string? Address, double? Latitude, double? Longitude, IReadOnlyList<string> Warnings);

/// <summary>
/// Reads a PIDF-LO document (RFC 4119, civic elements of RFC 5139, geodetic shapes of RFC 5491) as an EIDO carries it in
/// <c>locationByValue</c>. Civic elements compose an address as a dispatcher reads it ("123 N Main St, Unit 4, Springfield, IL
/// 62701, US"); the first <c>gml:pos</c> of a shape (point, circle, ellipse, ellipsoid, arc band) is its position, and a polygon's
/// position is the centre of its vertices. XML that does not parse, or a position out of range, is a warning, never an exception.
/// </summary>
public static class PidfLo
{
    public const string CivicNamespace = "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr";
    public const string GmlNamespace = "http://www.opengis.net/gml";
    private const int MaxLength = 256 * 1024;

    public static PidfLocation Read(string? xml, string what)
    {
        if (string.IsNullOrWhiteSpace(xml)) return new(null, null, null, []);
        if (xml.Length > MaxLength) return new(null, null, null, [$"{what}: the PIDF-LO is over {MaxLength} characters and was not read."]);
        XDocument document;
        try
        {
            using var reader = XmlReader.Create(new StringReader(xml.Trim()), new XmlReaderSettings
            {
                DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, MaxCharactersInDocument = MaxLength, IgnoreComments = true,
            });
            document = XDocument.Load(reader);
        }
        catch (XmlException e)
        {
            return new(null, null, null, [$"{what}: the PIDF-LO is not well-formed XML ({e.Message}); its address and position are unknown."]);
        }

        var warnings = new List<string>();
        var address = Civic(document.Descendants(XName.Get("civicAddress", CivicNamespace)).FirstOrDefault());
        var (latitude, longitude) = Position(document, what, warnings);
        if (address is null && latitude is null && warnings.Count == 0)
            warnings.Add($"{what}: the PIDF-LO holds neither a civic address nor a geodetic position this reader knows.");
        return new(address, latitude, longitude, warnings);
    }

    /// <summary>A civic address on one line; null when it names nothing a dispatcher could go to.</summary>
    public static string? Civic(XElement? civic)
    {
        if (civic is null) return null;
        string? E(string name) => civic.Element(XName.Get(name, CivicNamespace))?.Value is { } v && !string.IsNullOrWhiteSpace(v)
            ? string.Join(' ', v.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)) : null;
        static string? Join(string separator, params string?[] parts) =>
            parts.Where(p => p is not null).ToList() is { Count: > 0 } present ? string.Join(separator, present) : null;

        var number = Join("", E("HNO"), E("HNS") is { } suffix ? (suffix.StartsWith('-') || suffix.Length > 2 ? " " + suffix : suffix) : null);
        var street = Join(" ", number, E("PRM"), E("PRD"), E("RD"), E("STS"), E("POD"), E("POM"));
        var place = Join(", ", E("NAM"), E("LMK"), street ?? E("A6"), E("LOC"),
            E("BLD") is { } building ? $"Building {building}" : null, E("FLR") is { } floor ? $"Floor {floor}" : null,
            E("UNIT") is { } unit ? $"Unit {unit}" : null, E("ROOM") is { } room ? $"Room {room}" : null);
        if (place is null) return null; // a state or a country alone is nowhere to send anyone
        var region = Join(" ", E("A1"), E("PC"));
        return Join(", ", place, E("A5"), E("A4"), E("A3"), region, E("country"));
    }

    private static (double?, double?) Position(XDocument document, string what, List<string> warnings)
    {
        var pos = document.Descendants(XName.Get("pos", GmlNamespace)).FirstOrDefault();
        if (pos is not null) return Point(pos.Value, what, warnings);
        if (document.Descendants(XName.Get("posList", GmlNamespace)).FirstOrDefault() is not { } list) return (null, null);
        var numbers = Numbers(list.Value);
        if (numbers is null || numbers.Count < 4 || numbers.Count % 2 != 0)
        {
            warnings.Add($"{what}: the polygon's gml:posList '{Clip(list.Value)}' is not a list of latitude/longitude pairs.");
            return (null, null);
        }
        var points = numbers.Chunk(2).ToList();
        if (points.Count > 1 && points[0].SequenceEqual(points[^1])) points.RemoveAt(points.Count - 1); // closed ring: last = first
        return Checked(points.Average(p => p[0]), points.Average(p => p[1]), what, warnings);
    }

    private static (double?, double?) Point(string text, string what, List<string> warnings)
    {
        var numbers = Numbers(text);
        if (numbers is null || numbers.Count is < 2 or > 3)
        {
            warnings.Add($"{what}: gml:pos '{Clip(text)}' is not 'latitude longitude [altitude]'.");
            return (null, null);
        }
        return Checked(numbers[0], numbers[1], what, warnings);
    }

    private static (double?, double?) Checked(double latitude, double longitude, string what, List<string> warnings)
    {
        if (latitude is >= -90 and <= 90 && longitude is >= -180 and <= 180) return (latitude, longitude);
        warnings.Add($"{what}: the position {latitude.ToString(CultureInfo.InvariantCulture)} {longitude.ToString(CultureInfo.InvariantCulture)} is out of range.");
        return (null, null);
    }

    private static List<double>? Numbers(string text)
    {
        var values = new List<double>();
        foreach (var part in text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value)) return null;
            values.Add(value);
        }
        return values;
    }

    private static string Clip(string text) => text.Trim() is { Length: > 60 } trimmed ? trimmed[..60] + "…" : text.Trim();
}
