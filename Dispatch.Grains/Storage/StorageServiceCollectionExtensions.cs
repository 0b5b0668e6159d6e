using Dispatch.Grains.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatch.Grains.Storage;

public static class StorageServiceCollectionExtensions
{
    public const string ConnectionStringName = "dispatch";

    /// <summary>The PostgreSQL data source, the migrator and the bootstrapper, from <c>ConnectionStrings:dispatch</c>.</summary>
    public static IServiceCollection AddDispatchStorage(this IServiceCollection services)
    {
        services.AddSingleton(sp =>
        {
            var configuration = sp.GetRequiredService<IConfiguration>();
            var connectionString = configuration.GetConnectionString(ConnectionStringName);
            if (string.IsNullOrWhiteSpace(connectionString))
                throw new InvalidOperationException(
                    $"No database configured: set ConnectionStrings__{ConnectionStringName}, or start everything with `dotnet run --project Dispatch.AppHost`.");
            var builder = new NpgsqlDataSourceBuilder(connectionString);
            builder.UseLoggerFactory(sp.GetRequiredService<ILoggerFactory>());
            return builder.Build();
        });
        services.AddSingleton(sp => new Migrator(
            sp.GetRequiredService<NpgsqlDataSource>(), Migration.Embedded, sp.GetRequiredService<ILogger<Migrator>>()));
        services.AddOptions<BootstrapOptions>().BindConfiguration(BootstrapOptions.Section);
        services.AddSingleton<Bootstrapper>();
        return services;
    }
}
