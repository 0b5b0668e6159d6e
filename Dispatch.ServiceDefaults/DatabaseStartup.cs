using Dispatch.Grains.Identity;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Dispatch.ServiceDefaults;

public sealed class DatabaseStartupOptions
{
    public const string Section = "Dispatch:Database";

    /// <summary>How long start-up waits for an unreachable database before giving up.</summary>
    public TimeSpan StartupTimeout { get; set; } = TimeSpan.FromSeconds(60);
}

/// <summary>Migrates and bootstraps before the host serves; a changed applied migration stops start-up.</summary>
public sealed class DatabaseStartup(
    Migrator migrator, Bootstrapper bootstrapper, FieldCipher cipher, IOptions<DatabaseStartupOptions> options,
    TimeProvider time, ILogger<DatabaseStartup> logger) : IHostedService
{
    public bool Completed { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        logger.LogInformation("Encrypting with key {KeyId} ({KeyCount} key(s) in the ring)", cipher.Keys.ActiveKeyId, cipher.Keys.KeyIds.Count);
        var deadline = time.GetUtcNow() + options.Value.StartupTimeout;
        var delay = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            try
            {
                await migrator.MigrateAsync(cancellationToken);
                await bootstrapper.BootstrapAsync(cancellationToken);
                Completed = true;
                return;
            }
            catch (MigrationChecksumMismatchException ex)
            {
                logger.LogCritical("Start-up stopped: {Reason}", ex.Message);
                throw;
            }
            catch (Exception ex) when (IsTransient(ex) && time.GetUtcNow() < deadline)
            {
                logger.LogWarning("Database not reachable yet ({Error}); retrying in {DelayMs} ms", ex.Message, delay.TotalMilliseconds);
                await Task.Delay(delay, time, cancellationToken);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 5000));
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static bool IsTransient(Exception ex) => ex switch
    {
        NpgsqlException { IsTransient: true } => true,
        PostgresException { SqlState: "57P03" } => true, // the database system is starting up
        _ => false,
    };
}
