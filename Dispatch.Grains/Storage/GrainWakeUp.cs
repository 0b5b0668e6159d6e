using Microsoft.Extensions.Logging;

namespace Dispatch.Grains.Storage;

/// <summary>
/// A grain's next due moment: a one-shot grain timer at the instant itself (milliseconds of precision while the grain is active)
/// and, when <c>durable</c>, a reminder due at it with a one-minute period, written before <see cref="SetAsync"/> returns, so the
/// moment survives the grain's activation and silo: the reminder brings the grain back at the moment after a deactivation or a
/// silo's shutdown. While this activation's timer is armed, the timer has the moment in hand and a tick is skipped
/// (<see cref="Pending"/>), so the two never do the work twice. A reminder alone is not enough (its ticks skip while the owner is down and come back on
/// one-minute slots), so the silos' recovery scan backs both up. Setting the same moment again changes nothing; none removes both.
/// </summary>
public sealed class GrainWakeUp(Grain grain, string reminderName, Func<Task> onDue, TimeProvider time, bool durable)
{
    private static readonly TimeSpan ReminderPeriod = TimeSpan.FromMinutes(1);

    private IGrainTimer? _timer;
    private DateTimeOffset? _due;
    private bool? _hasReminder; // unknown until this activation looks: an earlier one may have left one

    /// <summary>Whether this activation knows the moment (it set it, or was told there is none).</summary>
    public bool Known { get; private set; }

    /// <summary>Whether this activation's timer is armed for the moment (a reminder tick now has nothing to add).</summary>
    public bool Pending => Known && _timer is not null;

    private Task FireAsync()
    {
        _timer?.Dispose();
        _timer = null; // one shot: spent
        return onDue();
    }

    /// <summary>How long a grain waits before trying work again that the database could not take.</summary>
    public static readonly TimeSpan DatabaseRetry = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Runs <paramref name="work"/>; when the database is unreachable (nothing committed), logs it and fires again after
    /// <see cref="DatabaseRetry"/>, on the timer alone (a reminder cannot be written either), so the work stays in this grain's
    /// hands instead of waiting for a reminder's next minute or the silos' sweep. The moment held is unchanged.
    /// </summary>
    public async Task RunOrRetryAsync(Func<Task> work, ILogger logger, string what)
    {
        try
        {
            await work();
        }
        catch (Exception e) when (DatabaseUnavailableException.IsUnreachable(e))
        {
            logger.LogWarning("{Work} waits for the database ({Error}); trying again in {Delay} s", what, e.GetBaseException().Message,
                DatabaseRetry.TotalSeconds);
            _timer?.Dispose();
            _timer = grain.RegisterGrainTimer(_ => FireAsync(), new GrainTimerCreationOptions
            {
                DueTime = DatabaseRetry, Period = Timeout.InfiniteTimeSpan, Interleave = false, KeepAlive = true,
            });
        }
    }

    /// <summary>For something new: nothing is due and no earlier activation left a reminder.</summary>
    public void StartEmpty()
    {
        if (Known) return;
        (Known, _due, _hasReminder) = (true, null, false);
    }

    /// <summary>Brings the moment forward to <paramref name="due"/> if that is sooner than the one held.</summary>
    public Task EarlierAsync(DateTimeOffset due) => Known && _due is { } held && held <= due ? Task.CompletedTask : SetAsync(due);

    public async Task SetAsync(DateTimeOffset? due)
    {
        // The same moment again changes nothing, unless its one-shot timer has already fired (a timer may fire a little early,
        // find nothing due yet, and set the same moment again: it must be armed again).
        if (Known && due == _due && (due is null || _timer is not null)) return;
        var sameReminder = Known && due == _due;
        (Known, _due) = (true, due);
        _timer?.Dispose();
        _timer = null;
        if (due is not null)
        {
            var wait = due.Value - time.GetUtcNow();
            _timer = grain.RegisterGrainTimer(_ => FireAsync(), new GrainTimerCreationOptions
            {
                DueTime = wait < TimeSpan.Zero ? TimeSpan.Zero : wait, Period = Timeout.InfiniteTimeSpan, Interleave = false, KeepAlive = true,
            });
        }
        if (!durable || sameReminder) return;
        if (due is not null)
        {
            var wait = due.Value - time.GetUtcNow();
            await grain.RegisterOrUpdateReminder(reminderName, wait < TimeSpan.Zero ? TimeSpan.Zero : wait, ReminderPeriod);
            _hasReminder = true;
        }
        else if (_hasReminder != false)
        {
            if (await grain.GetReminder(reminderName) is { } reminder) await grain.UnregisterReminder(reminder);
            _hasReminder = false;
        }
    }
}
