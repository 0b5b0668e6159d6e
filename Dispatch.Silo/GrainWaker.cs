using Dispatch.Grains.Storage;

namespace Dispatch.Silo;

/// <summary>
/// Wakes the grains that have work according to PostgreSQL: every period, or at once when a committing writer NOTIFYs the
/// channel. Waking a grain that is already busy is a no-op, and the cluster picks the silo that hosts it; so whatever a dead
/// silo's grains had pending is taken up on a live one as soon as the cluster has declared the death.
/// </summary>
public abstract class GrainWaker(DispatchStore store, DatabaseSignals signals, TimeProvider time, ILogger logger) : BackgroundService
{
    /// <summary>The NOTIFY channel that brings the next round forward, or null.</summary>
    protected abstract string? Channel { get; }

    protected abstract TimeSpan Period { get; }

    /// <summary>How long a woken grain is left to its own timer before it is woken again (a burst must not wake it every round).</summary>
    protected virtual TimeSpan Rewake => TimeSpan.Zero;

    private readonly Dictionary<Guid, DateTimeOffset> _woken = new();

    /// <summary>The keys of the grains that have work now.</summary>
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
                logger.LogWarning("Could not look for due work ({Error}); trying again", ex.Message);
            }
            if (Channel is null) await Task.Delay(Period, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            else await signals.WaitAsync(Channel, Period, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
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
