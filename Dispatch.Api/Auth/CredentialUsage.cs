using System.Collections.Concurrent;
using Dispatch.Grains.Identity;

namespace Dispatch.Api.Auth;

/// <summary>
/// Remembers which keys were used and stamps <c>last_used_at</c> / <c>last_seen_at</c> in one write every
/// few seconds, instead of a write per request.
/// </summary>
/// <remarks>
/// A command connection's use is also news to its heartbeat watch: after the stamp, its grain is told (one-way), so any
/// authenticated call counts as a heartbeat.
/// </remarks>
public sealed class CredentialUsage(Credentials credentials, IClusterClient grains, SiloConnection silo, TimeProvider time, ILogger<CredentialUsage> logger)
    : BackgroundService
{
    private static readonly TimeSpan FlushEvery = TimeSpan.FromSeconds(5);
    private ConcurrentDictionary<(string Kind, Guid Id), byte> _used = new();

    public void Record(string kind, Guid id) => _used.TryAdd((kind, id), 0);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(FlushEvery, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await FlushAsync();
        }
    }

    public async Task FlushAsync()
    {
        var used = Interlocked.Exchange(ref _used, new ConcurrentDictionary<(string Kind, Guid Id), byte>()).Keys;
        if (used.Count == 0) return;
        var connections = used.Where(u => u.Kind == Credentials.CommandConnectionKind).Select(u => u.Id).ToList();
        var at = time.GetUtcNow();
        try
        {
            await credentials.TouchAsync(used.Where(u => u.Kind == Credentials.ApiKeyKind).Select(u => u.Id).ToList(), connections, at);
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException)
        {
            logger.LogWarning(ex, "Could not record the use of {Count} credential(s); it is only a usage stamp", used.Count);
            return;
        }
        if (!silo.IsConnected) return; // the stamp is what a watch brought back reads
        try
        {
            await Task.WhenAll(connections.Select(id => grains.GetGrain<Grains.Commands.ICommandConnectionGrain>(id).SeenAsync(at)));
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException or InvalidOperationException)
        {
            logger.LogWarning("Could not tell {Count} command connection(s)' heartbeat watch of their use ({Error}); the stamp stands", connections.Count,
                ex.GetType().Name);
        }
    }
}
