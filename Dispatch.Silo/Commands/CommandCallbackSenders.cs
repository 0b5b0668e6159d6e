using Dispatch.Grains.Commands;
using Dispatch.Grains.Storage;

namespace Dispatch.Silo.Commands;

/// <summary>Wakes the grain of every command connection with a due callback: at once on a new acknowledgement's NOTIFY, else every 2 s.</summary>
public sealed class CommandCallbackSenders(DispatchStore store, DatabaseSignals signals, IGrainFactory grains, TimeProvider time,
    ILogger<CommandCallbackSenders> logger) : GrainWaker(store, signals, time, logger)
{
    protected override string? Channel => CommandCallbacks.Channel;
    protected override TimeSpan Period => TimeSpan.FromSeconds(2);
    protected override TimeSpan Rewake => TimeSpan.FromSeconds(1);

    protected override Task<IEnumerable<Guid>> DueAsync(EngineScope scope, DateTimeOffset now) => CommandCallbacks.ConnectionsDueAsync(scope, now);

    protected override Task WakeAsync(Guid key) => grains.GetGrain<ICommandConnectionGrain>(key).DeliverDueAsync();
}
