using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;

namespace Dispatch.Grains.Notifications;

/// <summary>A signed acknowledgement link: who (agency, user) may acknowledge which notification, until when.</summary>
public sealed record AckLink(Guid NotificationId, Guid AgencyId, Guid UserId, DateTimeOffset ExpiresAt);

/// <summary>
/// Signs and checks the links in outgoing messages (HMAC-SHA256 with a key derived from the token signing key).
/// The link opens a confirmation page; only the page's button acknowledges, so link scanners cannot.
/// </summary>
public sealed class AckLinks(byte[] signingKey, Uri publicUrl)
{
    public const string Path = "/hooks/email/ack";
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(7);

    private readonly byte[] _key = HMACSHA256.HashData(signingKey, "dispatch ack links v1"u8.ToArray());

    public Uri Create(AckLink link) => new(publicUrl, QueryHelpers.AddQueryString(Path, Fields(link)));

    public Dictionary<string, string?> Fields(AckLink link) => new()
    {
        ["n"] = link.NotificationId.ToString("N"),
        ["a"] = link.AgencyId.ToString("N"),
        ["u"] = link.UserId.ToString("N"),
        ["e"] = link.ExpiresAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
        ["s"] = Sign(link),
    };

    /// <returns>The link when the signature holds and it has not expired; otherwise null.</returns>
    public AckLink? Verify(string? n, string? a, string? u, string? e, string? s, DateTimeOffset now)
    {
        if (!Guid.TryParse(n, out var notification) || !Guid.TryParse(a, out var agency) || !Guid.TryParse(u, out var user) ||
            !long.TryParse(e, NumberStyles.None, CultureInfo.InvariantCulture, out var expires) || s is null)
            return null;
        var link = new AckLink(notification, agency, user, DateTimeOffset.FromUnixTimeSeconds(expires));
        var ok = CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(link)), Encoding.ASCII.GetBytes(s));
        return ok && link.ExpiresAt > now ? link : null;
    }

    private string Sign(AckLink link) => Convert.ToHexStringLower(HMACSHA256.HashData(_key,
        Encoding.UTF8.GetBytes($"{link.NotificationId:N}|{link.AgencyId:N}|{link.UserId:N}|{link.ExpiresAt.ToUnixTimeSeconds()}")));

    /// <summary>From <c>Dispatch:PublicUrl</c> (default http://127.0.0.1:5080, where the Api listens) and the token signing key;
    /// null without a key (messages then carry no link).</summary>
    public static AckLinks? FromConfiguration(Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        var url = configuration["Dispatch:PublicUrl"] ?? "http://127.0.0.1:5080";
        var key = Identity.SigningKey.Read(configuration["Dispatch:Auth:SigningKey"], configuration["Dispatch:Auth:SigningKeyFile"]);
        return key is null || !Uri.TryCreate(url, UriKind.Absolute, out var uri) ? null : new AckLinks(key, uri);
    }
}

/// <summary>The signed acknowledgement links put into messages, when a public URL and a signing key are configured.</summary>
public sealed record AckLinkFactory(AckLinks? Links);
