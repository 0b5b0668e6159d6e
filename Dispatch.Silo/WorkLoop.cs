using Dispatch.Grains.Storage;

namespace Dispatch.Silo;

/// <summary>
/// The shape every Silo loop shares: work while there is work; otherwise sleep until the next due time, a NOTIFY on the
/// loop's channel from a committing writer, or the poll interval, whichever comes first. A failed pass is logged and retried
/// after a second; cancellation ends the loop.
/// </summary>
public abstract class WorkLoop(DatabaseSignals signals, TimeProvider time, ILogger logger) : BackgroundService
{
    /// <summary>The stable name used in logs.</summary>
    protected abstract string Module { get; }

    /// <summary>The NOTIFY channel that wakes this loop.</summary>
    protected abstract string Channel { get; }

    /// <summary>The longest the loop sleeps without a NOTIFY, in case one was missed.</summary>
    protected abstract TimeSpan PollInterval { get; }

    /// <summary>One pass; returns how much it did (more than nothing: another pass follows at once).</summary>
    public abstract Task<int> RunOnceAsync(CancellationToken cancellationToken);

    /// <summary>When the next piece of work falls due (UTC), or null when nothing is pending.</summary>
    protected abstract Task<DateTime?> NextDueAsync();

    protected TimeProvider Clock => time;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        logger.LogInformation("Work loop {Module} started", Module);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await RunOnceAsync(stoppingToken) > 0) continue;
                await signals.WaitAsync(Channel, await SleepAsync(), stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Work loop {Module} failed; retrying", Module);
                await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private async Task<TimeSpan> SleepAsync()
    {
        var next = await NextDueAsync();
        if (next is null) return PollInterval;
        var wait = Time.Utc(next.Value) - time.GetUtcNow();
        // Due but not claimed: another Silo (or a writer) holds the row for a moment; look again shortly, never spin.
        return wait <= TimeSpan.Zero ? TimeSpan.FromMilliseconds(20) : wait < PollInterval ? wait : PollInterval;
    }
}
