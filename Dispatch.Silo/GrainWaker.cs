using Dispatch.Grains.Storage;

namespace Dispatch.Silo;

/// <summary>
/// A recovery scan: every period, wakes the grains that PostgreSQL says have work left undone. Work normally reaches its grain
/// straight from the writer that committed it (<see cref="GrainWakes"/>); this finds what a dead or hung silo's grains left
/// behind, and what a process killed between commit and wake never handed over. Waking a grain that is already busy is a
/// no-op, and the cluster picks the silo that hosts it, so a dead silo's work is taken up on a live one at the first scan after
/// the cluster has declared the death.
/// </summary>
public abstract class GrainWaker(DispatchStore store, TimeProvider time, ILogger logger) : BackgroundService
{
    protected abstract TimeSpan Period { get; }

    /// <summary>How long a woken grain is left to itself before it is woken again (a grain busy under a burst must not be woken every round).</summary>
    protected virtual TimeSpan Rewake => TimeSpan.Zero;

    private readonly Dictionary<Guid, DateTimeOffset> _woken = new();

    /// <summary>The keys of the grains that have work left undone at <paramref name="now"/>.</summary>
    protected abstract Task<IEnumerable<Guid>> DueAsync(EngineScope scope, DateTimeOffset now);

    protected abstract Task WakeAsync(Guid key);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                IReadOnlyList<Guid> due;
                var now = time.GetUtcNow();
                await using (var scope = await store.BeginEngineAsync(stoppingToken))
                    due = (await DueAsync(scope, now)).Where(key => !_woken.TryGetValue(key, out var at) || now - at >= Rewake).ToList();
                foreach (var stale in _woken.Where(w => now - w.Value >= Rewake).Select(w => w.Key).ToList()) _woken.Remove(stale);
                foreach (var key in due) _woken[key] = now;
                await Task.WhenAll(due.Select(TryWakeAsync));
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Could not look for overdue work ({Error}); trying again", ex.Message);
            }
            await Task.Delay(Period, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task TryWakeAsync(Guid key)
    {
        try
        {
            await WakeAsync(key);
        }
        catch (Exception ex) when (ex is SiloUnavailableException or TimeoutException or OrleansException)
        {
            // Its silo is dead but not yet declared so: a later round reaches it on a live one.
            logger.LogDebug("Grain {GrainKey} not reachable yet ({Error})", key, ex.Message);
        }
    }
}
