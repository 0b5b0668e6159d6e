using System.Diagnostics;
using System.Diagnostics.Metrics;
using Dispatch.Grains.Escalation;
using Dispatch.Grains.Routing;
using Dispatch.Grains.Storage;
using Microsoft.Extensions.Options;

namespace Dispatch.Silo.Escalations;

public sealed class EscalationWorkerOptions
{
    public const string Section = "Dispatch:Escalation";

    /// <summary>The longest the loop sleeps without a NOTIFY, in case one was missed or another Silo's deadline moved.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How many companies' deadlines one transaction fires.</summary>
    public int BatchSize { get; set; } = 16;

    /// <summary>How many such transactions run at once (they claim disjoint companies with SKIP LOCKED).</summary>
    public int Parallelism { get; set; } = 4;
}

/// <summary>
/// The escalation loop: sleeps until the earliest known deadline (or a NOTIFY that a new one exists, or the poll interval),
/// then fires every due deadline it can claim, each in the same transaction that records it.
/// </summary>
public sealed class EscalationWorker(DispatchStore store, DatabaseSignals signals, IOptions<EscalationWorkerOptions> options, TimeProvider time,
    ILogger<EscalationWorker> logger) : WorkLoop(signals, time, logger)
{
    public static readonly ActivitySource Source = new("Dispatch.Silo.Escalations");
    private static readonly Meter Meter = new("Dispatch.Silo.Escalations");
    private static readonly Histogram<double> Lateness = Meter.CreateHistogram<double>("dispatch.escalation.lateness", "s",
        "How long after its deadline an escalation step committed.");
    private static readonly Counter<long> Fired = Meter.CreateCounter<long>("dispatch.escalations", "{escalation}",
        "Escalation steps fired, by outcome (next_tier, repeat, exhausted, dropped) and priority.");

    protected override string Module => "escalations";
    protected override string Channel => Assignments.EscalationChannel;
    protected override TimeSpan PollInterval => options.Value.PollInterval;

    /// <summary>Fires due deadlines in parallel batches; returns how many steps fired.</summary>
    public override async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var fired = await Task.WhenAll(Enumerable.Range(0, Math.Max(1, options.Value.Parallelism)).Select(_ => FireBatchAsync(cancellationToken)));
        return fired.Sum();
    }

    private async Task<int> FireBatchAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<EscalationStep> steps;
        using (var activity = Source.StartActivity("escalate"))
        {
            await using var scope = await store.BeginEngineAsync(cancellationToken);
            steps = await EscalationEngine.FireDueAsync(scope, Clock.GetUtcNow(), options.Value.BatchSize);
            await scope.CommitAsync(cancellationToken);
            activity?.SetTag("dispatch.escalation.steps", steps.Count);
        }
        // Lateness as the world sees it: from the deadline to the step's commit, not to when it was claimed.
        var committed = Clock.GetUtcNow();
        foreach (var step in steps)
        {
            Lateness.Record(Math.Max(0, (committed - step.DueAt).TotalSeconds), new KeyValuePair<string, object?>("dispatch.priority", step.Priority));
            Fired.Add(1, new("dispatch.outcome", step.Outcome), new("dispatch.priority", step.Priority));
            logger.LogInformation("Escalation of company {CompanyId} on incident {IncidentId}: {Outcome} (tier {Tier}, cycle {Cycle}), {Lateness} ms after its deadline",
                step.CompanyId, step.IncidentId, step.Outcome, step.Tier + 1, step.Cycle, (long)(committed - step.DueAt).TotalMilliseconds);
        }
        return steps.Count;
    }

    protected override async Task<DateTime?> NextDueAsync()
    {
        await using var scope = await store.BeginEngineAsync();
        return await EscalationEngine.NextDueAsync(scope);
    }
}
