using Dispatch.Grains.Commands;
using Dispatch.Grains.Storage;

namespace Dispatch.Silo.Commands;

/// <summary>Recovery scan for callbacks: wakes the grain of every command connection with a callback overdue by more than a second.</summary>
public sealed class CommandCallbackSenders(DispatchStore store, IGrainFactory grains, TimeProvider time, ILogger<CommandCallbackSenders> logger)
    : GrainWaker(store, time, logger)
{
    protected override TimeSpan Period => TimeSpan.FromSeconds(1);
    protected override TimeSpan Rewake => TimeSpan.FromSeconds(2);

    protected override Task<IEnumerable<Guid>> DueAsync(EngineScope scope, DateTimeOffset now) =>
        CommandCallbacks.ConnectionsDueAsync(scope, now - TimeSpan.FromSeconds(1));

    protected override Task WakeAsync(Guid key) => grains.GetGrain<ICommandConnectionGrain>(key).DeliverDueAsync();
}
