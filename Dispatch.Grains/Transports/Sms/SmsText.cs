using System.Security.Cryptography;
using System.Text;

namespace Dispatch.Grains.Transports.Sms;

/// <summary>
/// What fits in a text message. A message in the GSM 03.38 alphabet takes 160 characters in one segment and 153 in each of
/// several (its escaped characters — <c>^{}\[~]|€</c> — count twice); anything else goes as UCS-2, 70 and 67 UTF-16 units.
/// A message is kept to <see cref="MaxSegments"/> segments by trimming the description, never the priority, title, address
/// or reply instructions.
/// </summary>
public static class SmsText
{
    public const int MaxSegments = 4;

    private const string Basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001BÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    private const string Extended = "^{}\\[~]|€\f";
    private static readonly HashSet<char> BasicSet = [.. Basic];
    private static readonly HashSet<char> ExtendedSet = [.. Extended];

    public static bool IsGsm7(string text) => text.All(c => BasicSet.Contains(c) || ExtendedSet.Contains(c));

    /// <summary>Septets for GSM-7 text, UTF-16 units for UCS-2.</summary>
    public static int Units(string text) => Units(text, IsGsm7(text));

    private static int Units(string text, bool gsm) => gsm ? text.Sum(c => ExtendedSet.Contains(c) ? 2 : 1) : text.Length;

    public static int Segments(string text)
    {
        var gsm = IsGsm7(text);
        var units = Units(text, gsm);
        var (single, multi) = gsm ? (160, 153) : (70, 67);
        return units <= single ? 1 : (units + multi - 1) / multi;
    }

    /// <summary>The alert as a text: <paramref name="head"/> and <paramref name="tail"/> whole, the description trimmed to fit.</summary>
    public static string Compose(string head, string? description, string tail)
    {
        var whole = Join(head, description, tail);
        if (Segments(whole) <= MaxSegments || string.IsNullOrEmpty(description)) return whole;
        var gsm = IsGsm7(whole);
        var budget = (gsm ? 153 : 67) * MaxSegments - Units(head) - Units(tail) - 2 - 3; // two line breaks and the "..."
        var kept = new StringBuilder();
        foreach (var c in description)
        {
            var cost = gsm ? ExtendedSet.Contains(c) ? 2 : 1 : 1;
            if (budget - cost < 0) break;
            // Never cut a surrogate pair in half: UCS-2 text counts each half, a lone one is not text.
            if (char.IsHighSurrogate(c) && budget - 2 < 0) break;
            kept.Append(c);
            budget -= cost;
        }
        return Join(head, kept.ToString().TrimEnd() + "...", tail);
    }

    private static string Join(string head, string? description, string tail) =>
        string.IsNullOrEmpty(description) ? $"{head}\n{tail}" : $"{head}\n{description}\n{tail}";
}

/// <summary>
/// The short code a person replies with to acknowledge one notification by text: four digits derived from the notification,
/// so no column holds it; a reply is matched by its code and the number it came from, among the texts recently sent there.
/// </summary>
public static class ReplyCodes
{
    public static string For(Guid notificationId)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(notificationId.ToByteArray(), hash);
        return (1000 + BitConverter.ToUInt32(hash) % 9000).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The code in a reply ("1234", "ACK 1234", "1234 ack", "ok 1234!"), or null when it holds none or several.</summary>
    public static string? In(string? reply)
    {
        var codes = System.Text.RegularExpressions.Regex.Matches(reply ?? "", @"(?<![0-9])[0-9]{4}(?![0-9])");
        return codes.Count == 1 ? codes[0].Value : null;
    }
}
