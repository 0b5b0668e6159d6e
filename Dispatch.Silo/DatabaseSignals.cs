using System.Collections.Concurrent;
using Dispatch.Grains.Storage;
using Npgsql;

namespace Dispatch.Silo;

/// <summary>
/// One LISTEN connection for the whole Silo: each NOTIFY channel a loop cares about releases that loop's wait.
/// A lost connection is re-established; the loops' bounded polls cover whatever was missed meanwhile.
/// </summary>
public sealed class DatabaseSignals(DispatchDatabase database, ILogger<DatabaseSignals> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _channels = new();

    public string[] Channels { get; init; } = [];

    /// <summary>Waits until <paramref name="channel"/> is notified or <paramref name="timeout"/> passes.</summary>
    public async Task WaitAsync(string channel, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var signal = _channels.GetOrAdd(channel, _ => new SemaphoreSlim(0));
        if (timeout > TimeSpan.Zero) await signal.WaitAsync(timeout, cancellationToken);
        while (signal.CurrentCount > 0) signal.Wait(0); // one wake-up covers every notify that came before it
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await database.Engine.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) => _channels.GetOrAdd(e.Channel, _ => new SemaphoreSlim(0)).Release();
                foreach (var channel in Channels)
                {
                    await using var listen = new NpgsqlCommand($"listen {channel}", connection);
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                    _channels.GetOrAdd(channel, _ => new SemaphoreSlim(0)).Release(); // catch up on anything missed
                }
                while (!stoppingToken.IsCancellationRequested)
                    await connection.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException)
            {
                logger.LogWarning("LISTEN connection lost ({Error}); reconnecting", ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }
}
