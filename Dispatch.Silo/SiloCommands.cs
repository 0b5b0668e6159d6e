using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;

namespace Dispatch.Silo;

/// <summary>One-shot maintenance commands run instead of the host: <c>dotnet Dispatch.Silo.dll reencrypt</c>.</summary>
public static class SiloCommands
{
    public static Func<IServiceProvider, Task<int>>? Find(string[] args) => args.FirstOrDefault() switch
    {
        "reencrypt" => ReencryptAsync,
        _ => null,
    };

    /// <summary>Moves every encrypted value to the active key (the second step of a key rotation).</summary>
    private static async Task<int> ReencryptAsync(IServiceProvider services)
    {
        await services.GetRequiredService<Migrator>().MigrateAsync();
        var cipher = services.GetRequiredService<FieldCipher>();
        var moved = await services.GetRequiredService<Reencryptor>().RunAsync();
        foreach (var (column, count) in moved)
            Console.WriteLine($"{column}: {count} value(s) moved to key {cipher.Keys.ActiveKeyId}");
        return 0;
    }
}
