using Dispatch.Grains.Identity;
using Dispatch.Grains.Storage.Encryption;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Dispatch.Grains.Storage;

public static class StorageServiceCollectionExtensions
{
    public const string ConnectionStringName = "dispatch";
    public const string EncryptionSection = "Dispatch:Encryption";

    public const string NoDatabase =
        $"No database configured: set ConnectionStrings__{ConnectionStringName}, or start everything with `dotnet run --project Dispatch.AppHost`.";

    /// <summary>
    /// The database (<c>ConnectionStrings:dispatch</c>; unless the host registered one already) with its owner, app and engine roles, the key ring
    /// (<c>Dispatch:Encryption</c>), the store, the migrator, the bootstrapper and the re-encryptor.
    /// </summary>
    public static IServiceCollection AddDispatchStorage(this IServiceCollection services)
    {
        services.TryAddSingleton(sp =>
        {
            var connectionString = sp.GetRequiredService<IConfiguration>().GetConnectionString(ConnectionStringName);
            if (string.IsNullOrWhiteSpace(connectionString)) throw new InvalidOperationException(NoDatabase);
            var loggerFactory = sp.GetRequiredService<ILoggerFactory>();
            return new DispatchDatabase(connectionString, builder => builder.UseLoggerFactory(loggerFactory));
        });
        services.AddSingleton(sp => new Migrator(
            sp.GetRequiredService<DispatchDatabase>().Owner, Migration.Embedded, sp.GetRequiredService<ILogger<Migrator>>()));
        services.AddSingleton(sp => LoadKeyRing(sp.GetRequiredService<IConfiguration>().GetSection(EncryptionSection)));
        services.AddSingleton<FieldCipher>();
        services.AddSingleton<DispatchStore>();
        services.AddSingleton<Reencryptor>();
        services.AddOptions<BootstrapOptions>().BindConfiguration(BootstrapOptions.Section);
        services.AddSingleton<Bootstrapper>();
        return services;
    }

    private static KeyRing LoadKeyRing(IConfigurationSection section)
    {
        if (section["KeyFile"] is { Length: > 0 } keyFile)
            return KeyRing.FromFile(keyFile);
        var keys = section.GetSection("Keys").GetChildren()
            .ToDictionary(k => k.Key, k => Convert.FromBase64String(k.Value ?? ""));
        if (section["ActiveKeyId"] is not { Length: > 0 } active || keys.Count == 0)
            throw new InvalidOperationException(
                "No encryption key configured: set Dispatch__Encryption__KeyFile, or Dispatch__Encryption__ActiveKeyId and " +
                "Dispatch__Encryption__Keys__<id> (base64 of 32 random bytes). The AppHost generates a local key file.");
        return new KeyRing(active, keys);
    }
}
