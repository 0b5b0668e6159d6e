using System.Security.Cryptography;
using System.Text.Json;

using Dispatch.Grains.Storage.Encryption;

namespace Dispatch.AppHost;

/// <summary>The embedded default's bootstrap admin: generated once, kept (0600) in the data folder, printed at each start.</summary>
internal sealed record DemoLogin(string AgencyName, string Email, string Password)
{
    public static DemoLogin LoadOrCreate(string dataDir)
    {
        var path = Path.Combine(dataDir, "demo-login.json");
        if (File.Exists(path))
            return JsonSerializer.Deserialize<DemoLogin>(File.ReadAllText(path))!;
        var login = new DemoLogin("Demo PSAP", "admin@dispatch.local",
            Convert.ToBase64String(RandomNumberGenerator.GetBytes(15)).Replace('+', 'x').Replace('/', 'y'));
        Directory.CreateDirectory(dataDir);
        File.WriteAllText(path, JsonSerializer.Serialize(login));
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return login;
    }

    public IEnumerable<KeyValuePair<string, string>> AsEnvironment() =>
    [
        new("Dispatch__Bootstrap__AgencyName", AgencyName),
        new("Dispatch__Bootstrap__AdminEmail", Email),
        new("Dispatch__Bootstrap__AdminPassword", Password),
    ];
}

/// <summary>The embedded default's encryption key ring: generated once into the data folder (0600), never committed.</summary>
internal static class LocalKeyFile
{
    public static string Ensure(string dataDir)
    {
        var path = Path.Combine(dataDir, "encryption-keys.json");
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(dataDir);
            File.WriteAllText(path, JsonSerializer.Serialize(KeyRing.Generate().ToFile(), JsonSerializerOptions.Web));
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return path;
    }
}

/// <summary>The embedded default's access-token signing key: generated once into the data folder (0600), never committed.</summary>
internal static class LocalSigningKey
{
    public static string Ensure(string dataDir)
    {
        var path = Path.Combine(dataDir, "jwt-signing-key");
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(dataDir);
            File.WriteAllText(path, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return path;
    }
}
