using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dispatch.Grains.Storage.Encryption;

/// <summary>
/// AES-256-GCM for columns encrypted at rest. A ciphertext is
/// <c>0x01 | key-id length | key id | 12-byte nonce | 16-byte tag | ciphertext</c>, bound by the
/// associated data to its column (<c>table.column</c>) so that it cannot be moved to another column.
/// Encrypted jsonb columns hold <c>{"kid": key id, "ciphertext": base64}</c>.
/// </summary>
public sealed class FieldCipher(KeyRing keys)
{
    private const byte FormatVersion = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;

    public KeyRing Keys => keys;

    public byte[] Encrypt(ReadOnlySpan<byte> plaintext, string column)
    {
        var keyId = Encoding.ASCII.GetBytes(keys.ActiveKeyId);
        var header = 2 + keyId.Length;
        var blob = new byte[header + NonceSize + TagSize + plaintext.Length];
        blob[0] = FormatVersion;
        blob[1] = (byte)keyId.Length;
        keyId.CopyTo(blob, 2);
        var nonce = blob.AsSpan(header, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(keys.Key(keys.ActiveKeyId), TagSize);
        aes.Encrypt(nonce, plaintext, blob.AsSpan(header + NonceSize + TagSize), blob.AsSpan(header + NonceSize, TagSize),
            Encoding.UTF8.GetBytes(column));
        return blob;
    }

    public byte[] Decrypt(ReadOnlySpan<byte> blob, string column)
    {
        var keyId = KeyIdOf(blob);
        var header = 2 + blob[1];
        if (blob.Length < header + NonceSize + TagSize)
            throw new CryptographicException("Ciphertext is truncated.");
        var plaintext = new byte[blob.Length - header - NonceSize - TagSize];
        using var aes = new AesGcm(keys.Key(keyId), TagSize);
        aes.Decrypt(blob.Slice(header, NonceSize), blob[(header + NonceSize + TagSize)..], blob.Slice(header + NonceSize, TagSize),
            plaintext, Encoding.UTF8.GetBytes(column));
        return plaintext;
    }

    public static string KeyIdOf(ReadOnlySpan<byte> blob)
    {
        if (blob.Length < 2 || blob[0] != FormatVersion || blob.Length < 2 + blob[1])
            throw new CryptographicException("Not a Dispatch ciphertext.");
        return Encoding.ASCII.GetString(blob.Slice(2, blob[1]));
    }

    public byte[]? EncryptText(string? plaintext, string column) =>
        plaintext is null ? null : Encrypt(Encoding.UTF8.GetBytes(plaintext), column);

    public string? DecryptText(byte[]? blob, string column) =>
        blob is null ? null : Encoding.UTF8.GetString(Decrypt(blob, column));

    /// <summary>The jsonb envelope for <paramref name="json"/> (any JSON text).</summary>
    public string? EncryptJson(string? json, string column) =>
        json is null ? null : new JsonObject
        {
            ["kid"] = keys.ActiveKeyId,
            ["ciphertext"] = Convert.ToBase64String(Encrypt(Encoding.UTF8.GetBytes(json), column)),
        }.ToJsonString();

    public string? DecryptJson(string? envelope, string column) =>
        envelope is null ? null : Encoding.UTF8.GetString(Decrypt(EnvelopeBlob(envelope), column));

    /// <summary>A jsonb envelope whose plaintext is a JSON object (a channel's config, a preference's override), as that object; null for null.</summary>
    public JsonObject? DecryptJsonObject(string? envelope, EncryptedColumn column) =>
        envelope is null ? null : JsonNode.Parse(DecryptJson(envelope, column.Context)!)!.AsObject();

    public static string KeyIdOfEnvelope(string envelope) => KeyIdOf(EnvelopeBlob(envelope));

    private static byte[] EnvelopeBlob(string envelope)
    {
        using var document = JsonDocument.Parse(envelope);
        return document.RootElement.TryGetProperty("ciphertext", out var ciphertext)
            ? ciphertext.GetBytesFromBase64()
            : throw new CryptographicException("Not an encrypted jsonb envelope.");
    }
}
