using System.Collections.Concurrent;
using Dispatch.Grains.Identity;

namespace Dispatch.Api.Auth;

/// <summary>
/// Remembers which keys were used and stamps <c>last_used_at</c> / <c>last_seen_at</c> in one write every
/// few seconds, instead of a write per request.
/// </summary>
public sealed class CredentialUsage(Credentials credentials, TimeProvider time, ILogger<CredentialUsage> logger) : BackgroundService
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
        try
        {
            await credentials.TouchAsync(
                used.Where(u => u.Kind == Credentials.ApiKeyKind).Select(u => u.Id).ToList(),
                used.Where(u => u.Kind == Credentials.CommandConnectionKind).Select(u => u.Id).ToList(),
                time.GetUtcNow());
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException)
        {
            logger.LogWarning(ex, "Could not record the use of {Count} credential(s); it is only a usage stamp", used.Count);
        }
    }
}
