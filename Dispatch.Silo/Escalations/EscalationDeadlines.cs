using Dispatch.Grains.Escalation;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Storage;
using Microsoft.Extensions.Options;

namespace Dispatch.Silo.Escalations;

public sealed class EscalationOptions
{
    public const string Section = "Dispatch:Escalation";

    /// <summary>How often each silo looks for deadlines left overdue: with the grace, the bound on how late a dead silo's deadlines fire after its death is declared.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How overdue a deadline must be before the scan wakes its grain: the grain's own timer normally fires it to the millisecond.</summary>
    public TimeSpan Grace { get; set; } = TimeSpan.FromMilliseconds(500);
}

/// <summary>
/// Recovery scan for escalation deadlines: hands every incident with a deadline overdue by more than the grace to its grain. A
/// live grain's timer fires its deadline on time, so this finds only what a dead or hung silo held, or what a reminder would bring
/// back a minute late: such a deadline fires on a live silo within a poll interval (plus the grace) of the death being declared,
/// and a lone silo restarted after its deadlines passed fires each at its first scan.
/// </summary>
public sealed class EscalationDeadlines(DispatchStore store, IGrainFactory grains, IOptions<EscalationOptions> options,
    TimeProvider time, ILogger<EscalationDeadlines> logger) : GrainWaker(store, time, logger)
{
    protected override TimeSpan Period => options.Value.PollInterval;
    protected override TimeSpan Rewake => options.Value.PollInterval;

    protected override Task<IEnumerable<Guid>> DueAsync(EngineScope scope, DateTimeOffset now) =>
        EscalationEngine.IncidentsDueAsync(scope, now - options.Value.Grace);

    protected override Task WakeAsync(Guid key) => grains.GetGrain<IIncidentGrain>(key).EscalateWhenDueAsync();
}
