using Dispatch.Grains.Escalation;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Routing;
using Dispatch.Grains.Storage;
using Microsoft.Extensions.Options;

namespace Dispatch.Silo.Escalations;

public sealed class EscalationOptions
{
    public const string Section = "Dispatch:Escalation";

    /// <summary>How often each silo looks for deadlines without a NOTIFY: the bound on how late a dead silo's deadlines fire, after its death is declared.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How far ahead a deadline's grain is given its timer; longer than the poll interval, so no deadline is first seen late.</summary>
    public TimeSpan Lookahead { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Hands every incident whose deadline falls due within the lookahead to its grain, which fires it on a timer at the exact
/// instant: at once when a writer NOTIFYs a new deadline, and every poll interval otherwise — so deadlines that fell due while
/// their silo was dead or hung fire on a live silo within a poll interval of the death being declared.
/// </summary>
public sealed class EscalationDeadlines(DispatchStore store, DatabaseSignals signals, IGrainFactory grains, IOptions<EscalationOptions> options,
    TimeProvider time, ILogger<EscalationDeadlines> logger) : GrainWaker(store, signals, time, logger)
{
    protected override string? Channel => Assignments.EscalationChannel;
    protected override TimeSpan Period => options.Value.PollInterval;
    protected override TimeSpan Rewake => TimeSpan.FromSeconds(2);

    protected override Task<IEnumerable<Guid>> DueAsync(EngineScope scope, DateTimeOffset now) =>
        EscalationEngine.IncidentsDueAsync(scope, now + options.Value.Lookahead);

    protected override Task WakeAsync(Guid key) => grains.GetGrain<IIncidentGrain>(key).EscalateWhenDueAsync();
}
