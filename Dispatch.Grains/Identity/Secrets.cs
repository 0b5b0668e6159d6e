using System.Security.Cryptography;
using System.Text;

namespace Dispatch.Grains.Identity;

/// <summary>High-entropy credentials (refresh tokens, API keys): random, stored only as SHA-256, compared in constant time.</summary>
public static class Secrets
{
    public const string KeyPrefix = "dsp";

    /// <summary>256 random bits, base64url.</summary>
    public static string NewToken() => Base64Url(RandomNumberGenerator.GetBytes(32));

    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public static bool HashMatches(string secret, string storedHash) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Hash(secret)), Encoding.ASCII.GetBytes(storedHash));

    /// <summary>A key shown once: <c>dsp_&lt;prefix&gt;_&lt;secret&gt;</c>; the prefix is stored to find it, the hash to check it.</summary>
    public static (string Key, string Prefix) NewApiKey()
    {
        var prefix = $"{KeyPrefix}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}";
        return ($"{prefix}_{NewToken()}", prefix);
    }

    /// <summary>The lookup prefix of a presented key, or null when it is not shaped like one.</summary>
    public static string? PrefixOf(string key)
    {
        var parts = key.Split('_', 3);
        return parts.Length == 3 && parts[0] == KeyPrefix && parts[1].Length == 12 && parts[2].Length >= 32
            ? $"{parts[0]}_{parts[1]}"
            : null;
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
