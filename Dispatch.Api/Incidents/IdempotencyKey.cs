using System.Security.Cryptography;
using System.Text;

namespace Dispatch.Api.Incidents;

/// <summary>
/// <c>Idempotency-Key</c> on create: the incident's id is derived from the caller's agency and the key, so a repeated request (a
/// timeout, a 503, a lost answer) reaches the same incident grain, which answers with the incident already made instead of a
/// second one.
/// </summary>
public static class IdempotencyKey
{
    public const string Header = "Idempotency-Key";
    public const string ReplayedHeader = "Idempotent-Replayed";

    public static bool IsValid(string key) => key.Length is >= 1 and <= 255 && key.All(c => c is >= '!' and <= '~');

    /// <summary>A UUID (version 8, name-based on SHA-256) of the agency and the key.</summary>
    public static Guid IncidentId(Guid agencyId, string key)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"dispatch-incident:{agencyId:N}:{key}"));
        var bytes = hash.AsSpan(0, 16).ToArray();
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x80);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes, bigEndian: true);
    }
}
