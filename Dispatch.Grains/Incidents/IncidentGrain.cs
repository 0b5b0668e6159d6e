using System.Diagnostics;
using System.Diagnostics.Metrics;
using Dispatch.Grains.Escalation;
using Dispatch.Grains.Storage;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace Dispatch.Grains.Incidents;

/// <summary>One incident's escalation deadlines (its lifecycle moves onto this grain next).</summary>
public interface IIncidentGrain : IGrainWithGuidKey
{
    /// <summary>
    /// Fires whatever is due and holds a timer for the incident's next live deadline, with a reminder behind it; call it whenever a
    /// deadline may have been set, moved or cancelled. Idempotent.
    /// </summary>
    [OneWay]
    Task EscalateWhenDueAsync();
}

/// <summary>
/// Escalation timing for one incident. The deadlines are PostgreSQL rows (<c>notifications.escalation_due_at</c>); the grain keeps
/// a grain timer for the earliest, so a step fires within milliseconds of it, and (for one a minute or more away) a reminder due
/// at it; every silo's deadline waker hands it over again, so a silo's death cannot lose it. Firing is idempotent against the rows: a step takes only deadlines that are still live under the company's
/// row lock, so a repeated tick, a reminder after the timer, or a second activation during a failover fires nothing twice.
/// </summary>
public sealed class IncidentGrain(DispatchStore store, TimeProvider time, ILogger<IncidentGrain> logger) : Grain, IIncidentGrain, IRemindable
{
    private const string Deadline = "escalation-deadline";
    public static readonly ActivitySource Source = new("Dispatch.Escalations");
    private static readonly Meter Meter = new("Dispatch.Escalations");
    private static readonly Histogram<double> Lateness = Meter.CreateHistogram<double>("dispatch.escalation.lateness", "s",
        "How long after its deadline an escalation step committed.");
    private static readonly Counter<long> Fired = Meter.CreateCounter<long>("dispatch.escalations", "{escalation}",
        "Escalation steps fired, by outcome (next_tier, repeat, exhausted, dropped) and priority.");

    private GrainWakeUp? _deadline;

    public async Task EscalateWhenDueAsync()
    {
        var next = await NextDueAsync();
        if (next is { } due && due <= time.GetUtcNow())
        {
            await FireAsync();
            next = await NextDueAsync();
        }
        await ScheduleAsync(next);
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => EscalateWhenDueAsync();

    private async Task<DateTimeOffset?> NextDueAsync()
    {
        await using var scope = await store.BeginEngineAsync();
        return await EscalationEngine.NextDueAsync(scope, this.GetPrimaryKey()) is { } due ? Time.Utc(due) : null;
    }

    private async Task FireAsync()
    {
        IReadOnlyList<EscalationStep> steps;
        using (var activity = Source.StartActivity("escalate"))
        {
            await using var scope = await store.BeginEngineAsync();
            steps = await EscalationEngine.FireIncidentAsync(scope, this.GetPrimaryKey(), time.GetUtcNow());
            await scope.CommitAsync();
            activity?.SetTag("dispatch.escalation.steps", steps.Count);
        }
        // Lateness as the world sees it: from the deadline to the step's commit.
        var committed = time.GetUtcNow();
        foreach (var step in steps)
        {
            Lateness.Record(Math.Max(0, (committed - step.DueAt).TotalSeconds), new KeyValuePair<string, object?>("dispatch.priority", step.Priority));
            Fired.Add(1, new("dispatch.outcome", step.Outcome), new("dispatch.priority", step.Priority));
            logger.LogInformation("Escalation of company {CompanyId} on incident {IncidentId}: {Outcome} (tier {Tier}, cycle {Cycle}), {Lateness} ms after its deadline",
                step.CompanyId, step.IncidentId, step.Outcome, step.Tier + 1, step.Cycle, (long)(committed - step.DueAt).TotalMilliseconds);
        }
    }

    private async Task ScheduleAsync(DateTimeOffset? next)
    {
        _deadline ??= new GrainWakeUp(this, Deadline, EscalateWhenDueAsync, time);
        await _deadline.SetAsync(next);
        if (next is null) DeactivateOnIdle();
    }
}
