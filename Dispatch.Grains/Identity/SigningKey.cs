namespace Dispatch.Grains.Identity;

/// <summary>The token signing key (<c>Dispatch:Auth:SigningKey</c>, base64, or the file in <c>…SigningKeyFile</c>), shared by Api and Silo.</summary>
public static class SigningKey
{
    public static byte[]? Read(string? base64, string? file)
    {
        if (string.IsNullOrWhiteSpace(base64) && !string.IsNullOrWhiteSpace(file) && File.Exists(file))
            base64 = File.ReadAllText(file).Trim();
        return string.IsNullOrWhiteSpace(base64) ? null : Convert.FromBase64String(base64);
    }
}
