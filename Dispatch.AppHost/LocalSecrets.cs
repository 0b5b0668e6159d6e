using System.Security.Cryptography;
using System.Text.Json;
using Dispatch.Grains.Storage.Encryption;

namespace Dispatch.AppHost;

/// <summary>The embedded default's bootstrap admin: generated once, printed at each start.</summary>
public sealed record DemoLogin(string AgencyName, string Email, string Password);

/// <summary>
/// The local secrets of a development machine, generated once into the data folder (each file 0600, never committed) and handed
/// to the hosts as Aspire secret parameters: the access-token signing key, the encryption key ring, the embedded PostgreSQL's
/// password and the demo login.
/// </summary>
public sealed record LocalSecrets(string SigningKey, KeyRing.KeyFile KeyRing, string PostgresPassword, string PostgresPasswordFile, DemoLogin Login)
{
    public static LocalSecrets Ensure(string dataDir)
    {
        Directory.CreateDirectory(dataDir);
        var signingKey = File.ReadAllText(Ensure(dataDir, "jwt-signing-key", () => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)))).Trim();
        var keyRing = Grains.Storage.Encryption.KeyRing.FromFile(
            Ensure(dataDir, "encryption-keys.json", () => JsonSerializer.Serialize(Grains.Storage.Encryption.KeyRing.Generate().ToFile(), JsonSerializerOptions.Web)))
            .ToFile();
        var passwordFile = Ensure(dataDir, "postgres-password", () => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24)));
        var login = JsonSerializer.Deserialize<DemoLogin>(File.ReadAllText(Ensure(dataDir, "demo-login.json", () => JsonSerializer.Serialize(
            new DemoLogin("Demo PSAP", "admin@dispatch.local", Convert.ToBase64String(RandomNumberGenerator.GetBytes(15)).Replace('+', 'x').Replace('/', 'y'))))))!;
        return new LocalSecrets(signingKey, keyRing, File.ReadAllText(passwordFile).Trim(), passwordFile, login);
    }

    private static string Ensure(string dataDir, string name, Func<string> create)
    {
        var path = Path.Combine(dataDir, name);
        if (!File.Exists(path))
        {
            File.WriteAllText(path, create());
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return path;
    }
}
