using System.Globalization;
using System.Text.RegularExpressions;

namespace Dispatch.Grains.Cfs;

/// <summary>A time as a CAD wrote it and the instant it was read as (null when it could not be read).</summary>
public sealed record CfsTime(string Text, DateTimeOffset? Instant);

/// <summary>
/// Reading typed values out of CAD text, never by guessing: times in ISO 8601 or in the exact formats a mapping declares, with
/// zone-less times local to a named zone; numbers in the invariant culture or a declared one; WKT points. A value that cannot be
/// read is a warning, and no value — never a different one.
/// </summary>
public static partial class CfsValues
{
    /// <summary>What is read without declared formats: ISO 8601 date and time, with <c>T</c> or a space, seconds and fraction optional, zone optional.</summary>
    public static IReadOnlyList<string> IsoFormats { get; } =
    [
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd HH:mmK",
    ];

    private const DateTimeStyles Styles = DateTimeStyles.AllowLeadingWhite | DateTimeStyles.AllowTrailingWhite;

    public static CultureInfo? Culture(string name)
    {
        try
        {
            var culture = CultureInfo.GetCultureInfo(name, predefinedOnly: true);
            return culture.Name.Length == 0 && name.Length > 0 ? null : culture;
        }
        catch (CultureNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Whether <paramref name="format"/> is a custom date and time format that writes (and so reads) a date.</summary>
    public static bool IsFormat(string? format)
    {
        if (string.IsNullOrWhiteSpace(format) || format.Length > 64) return false;
        try
        {
            var sample = new DateTime(2021, 11, 6, 21, 32, 30).ToString(format, CultureInfo.InvariantCulture);
            return DateTime.TryParseExact(sample, format, CultureInfo.InvariantCulture, DateTimeStyles.None, out _);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>
    /// Reads <paramref name="text"/> as a time: in one of <paramref name="formats"/> (ISO 8601 when none), in <paramref name="culture"/>;
    /// an explicit offset or <c>Z</c> is kept, a zone-less time is local to <paramref name="zone"/>; the instant is given in UTC, as it is stored. Adds a warning naming
    /// <paramref name="field"/> when the text matches no format, or names a local time that does not exist or exists twice.
    /// </summary>
    public static CfsTime ReadTime(string field, string text, IReadOnlyList<string>? formats, CultureInfo culture, TimeZoneInfo zone, List<string> warnings)
    {
        var patterns = formats is { Count: > 0 } ? formats.ToArray() : IsoFormats.ToArray();
        if (!DateTime.TryParseExact(text, patterns, culture, Styles | DateTimeStyles.RoundtripKind, out var parsed))
        {
            warnings.Add(formats is { Count: > 0 }
                ? $"{field} '{text}' matches none of the declared formats ({string.Join(" | ", formats)}); not stored."
                : $"{field} '{text}' is not an ISO 8601 date and time; declare its formats (e.g. \"formats\": [\"yyyyMMddHHmmss\"]); not stored.");
            return new CfsTime(text, null);
        }
        if (parsed.Kind != DateTimeKind.Unspecified)
        {
            // The text says its own offset (or Z): kept as given.
            return DateTimeOffset.TryParseExact(text, patterns, culture, Styles, out var explicitly)
                ? new CfsTime(text, explicitly.ToUniversalTime())
                : new CfsTime(text, new DateTimeOffset(parsed.ToUniversalTime(), TimeSpan.Zero));
        }
        if (zone.IsInvalidTime(parsed))
        {
            warnings.Add($"{field} '{text}' does not exist in {zone.Id} (the clocks went forward over it); not stored.");
            return new CfsTime(text, null);
        }
        if (zone.IsAmbiguousTime(parsed))
            warnings.Add($"{field} '{text}' happened twice in {zone.Id} (the clocks went back); read as standard time.");
        return new CfsTime(text, new DateTimeOffset(parsed, zone.GetUtcOffset(parsed)).ToUniversalTime());
    }

    /// <summary>A decimal number in <paramref name="culture"/>, or a warning.</summary>
    public static double? ReadNumber(string field, string text, CultureInfo culture, List<string> warnings)
    {
        if (double.TryParse(text, NumberStyles.Float, culture, out var value) && double.IsFinite(value)) return value;
        warnings.Add($"{field} '{text}' is not a number in the {(culture.Name.Length == 0 ? "invariant" : culture.Name)} culture; not stored.");
        return null;
    }

    /// <summary>A WKT point, <c>POINT (longitude latitude)</c> (an SRID prefix and a Z are allowed), as (latitude, longitude).</summary>
    public static (double Latitude, double Longitude)? ReadPoint(string field, string text, List<string> warnings)
    {
        var match = WktPoint().Match(text);
        if (match.Success
            && double.TryParse(match.Groups["x"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var longitude)
            && double.TryParse(match.Groups["y"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var latitude))
            return (latitude, longitude);
        warnings.Add($"{field} '{text}' is not a WKT point such as POINT (-87.6298 41.8781); not stored.");
        return null;
    }

    /// <summary>Whether a latitude and longitude are on the globe; a warning when not.</summary>
    public static bool OnTheGlobe(double? latitude, double? longitude, List<string> warnings)
    {
        if (latitude is null or (>= -90 and <= 90) && longitude is null or (>= -180 and <= 180)) return true;
        warnings.Add($"latitude {latitude?.ToString(CultureInfo.InvariantCulture)} / longitude {longitude?.ToString(CultureInfo.InvariantCulture)} "
            + "is not on the globe (latitude within ±90, longitude within ±180; a WKT point is longitude first); not stored.");
        return false;
    }

    [GeneratedRegex(@"^\s*(?:SRID=\d+\s*;\s*)?POINT\s*Z?\s*\(\s*(?<x>[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s+(?<y>[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?:\s+[-+]?[\d.eE+-]+)?\s*\)\s*$",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex WktPoint();
}
