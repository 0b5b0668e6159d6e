namespace Dispatch.Grains.Storage;

/// <summary>
/// A grain's next due moment, read from its rows: a one-shot grain timer for the instant itself, and a reminder due at it with a
/// one-minute period, in case the silo dies first. Setting the same moment again changes nothing; setting none removes both.
/// </summary>
public sealed class GrainWakeUp(Grain grain, string reminderName, Func<Task> onDue, TimeProvider time)
{
    private IGrainTimer? _timer;
    private DateTimeOffset? _due;
    private bool _reconciled; // a new activation does not know what reminder an earlier one left

    public async Task SetAsync(DateTimeOffset? due)
    {
        if (_reconciled && due == _due) return;
        _reconciled = true;
        _timer?.Dispose();
        _timer = null;
        _due = due;
        if (due is null)
        {
            if (await grain.GetReminder(reminderName) is { } reminder) await grain.UnregisterReminder(reminder);
            return;
        }
        var wait = due.Value - time.GetUtcNow();
        if (wait < TimeSpan.Zero) wait = TimeSpan.Zero;
        _timer = grain.RegisterGrainTimer(_ => onDue(), new GrainTimerCreationOptions
        {
            DueTime = wait, Period = Timeout.InfiniteTimeSpan, Interleave = false, KeepAlive = true,
        });
        await grain.RegisterOrUpdateReminder(reminderName, wait, TimeSpan.FromMinutes(1));
    }
}
