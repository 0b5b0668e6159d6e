namespace Dispatch.Grains.Storage;

/// <summary>
/// A grain's next due moment, read from its rows: a one-shot grain timer for the instant itself, and, for a moment a minute or
/// more away, a reminder due at it with a one-minute period, in case the silo dies first. Setting the same moment again changes
/// nothing; setting none removes both.
/// </summary>
public sealed class GrainWakeUp(Grain grain, string reminderName, Func<Task> onDue, TimeProvider time)
{
    private IGrainTimer? _timer;
    private DateTimeOffset? _due;
    private bool _set;
    private bool? _hasReminder; // unknown until this activation looks: an earlier one may have left one

    public async Task SetAsync(DateTimeOffset? due)
    {
        if (_set && due == _due) return;
        (_set, _due) = (true, due);
        _timer?.Dispose();
        _timer = null;
        var wait = due is null ? TimeSpan.Zero : due.Value - time.GetUtcNow();
        if (wait < TimeSpan.Zero) wait = TimeSpan.Zero;
        if (due is not null)
            _timer = grain.RegisterGrainTimer(_ => onDue(), new GrainTimerCreationOptions
            {
                DueTime = wait, Period = Timeout.InfiniteTimeSpan, Interleave = false, KeepAlive = true,
            });
        // A reminder cannot be more precise than its one-minute tick, and every silo's waker re-reads the due moments from
        // PostgreSQL each second; so only a moment a minute or more away gets one (a write per change, not per retry).
        if (due is not null && wait >= TimeSpan.FromMinutes(1))
        {
            await grain.RegisterOrUpdateReminder(reminderName, wait, TimeSpan.FromMinutes(1));
            _hasReminder = true;
        }
        else if (_hasReminder != false)
        {
            if (await grain.GetReminder(reminderName) is { } reminder) await grain.UnregisterReminder(reminder);
            _hasReminder = false;
        }
    }
}
