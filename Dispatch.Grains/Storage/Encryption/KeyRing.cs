using System.Security.Cryptography;
using System.Text.Json;

namespace Dispatch.Grains.Storage.Encryption;

/// <summary>
/// Encryption keys: one active key that encrypts, older keys kept to decrypt. From configuration
/// (<c>Dispatch:Encryption:ActiveKeyId</c> and <c>Dispatch:Encryption:Keys:&lt;id&gt;</c> = base64 of 32 bytes)
/// or a key file in the same shape (<c>Dispatch:Encryption:KeyFile</c>).
/// </summary>
public sealed class KeyRing
{
    public const int KeySize = 32;

    private readonly Dictionary<string, byte[]> _keys;

    public KeyRing(string activeKeyId, IReadOnlyDictionary<string, byte[]> keys)
    {
        if (!keys.ContainsKey(activeKeyId))
            throw new InvalidOperationException($"The active encryption key '{activeKeyId}' is not among the configured keys.");
        foreach (var (id, key) in keys)
        {
            if (key.Length != KeySize)
                throw new InvalidOperationException($"Encryption key '{id}' must be {KeySize} bytes (AES-256), not {key.Length}.");
            if (id.Length is 0 or > 64 || id.Any(c => !char.IsAsciiLetterOrDigit(c) && c is not '-' and not '_'))
                throw new InvalidOperationException($"Encryption key id '{id}' must be 1–64 letters, digits, '-' or '_'.");
        }
        ActiveKeyId = activeKeyId;
        _keys = keys.ToDictionary(k => k.Key, k => k.Value.ToArray());
    }

    public string ActiveKeyId { get; }

    public IReadOnlyCollection<string> KeyIds => _keys.Keys;

    public byte[] Key(string keyId) =>
        _keys.TryGetValue(keyId, out var key)
            ? key
            : throw new CryptographicException($"Encryption key '{keyId}' is not configured; keep old keys until re-encryption has moved every row.");

    public static KeyRing Generate(string keyId = "k1") => new(keyId, new Dictionary<string, byte[]> { [keyId] = RandomNumberGenerator.GetBytes(KeySize) });

    /// <summary>The key file shape: <c>{"activeKeyId": "k2", "keys": {"k1": "base64…", "k2": "base64…"}}</c>.</summary>
    public sealed record KeyFile(string ActiveKeyId, Dictionary<string, string> Keys);

    public static KeyRing FromFile(string path)
    {
        var file = JsonSerializer.Deserialize<KeyFile>(File.ReadAllText(path), JsonSerializerOptions.Web)
            ?? throw new InvalidOperationException($"Key file {path} is empty.");
        return new KeyRing(file.ActiveKeyId, file.Keys.ToDictionary(k => k.Key, k => Convert.FromBase64String(k.Value)));
    }

    public KeyFile ToFile() => new(ActiveKeyId, _keys.ToDictionary(k => k.Key, k => Convert.ToBase64String(k.Value)));

    /// <summary>The same keys plus a new one that becomes active: the first step of a rotation.</summary>
    public KeyRing Rotate(string newKeyId) =>
        new(newKeyId, new Dictionary<string, byte[]>(_keys) { [newKeyId] = RandomNumberGenerator.GetBytes(KeySize) });
}
