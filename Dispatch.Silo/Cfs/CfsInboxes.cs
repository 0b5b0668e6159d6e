using Dispatch.Grains.Cfs;
using Dispatch.Grains.Storage;
using Microsoft.Extensions.Options;

namespace Dispatch.Silo.Cfs;

public sealed class CfsInboxesOptions
{
    public const string Section = "Dispatch:Cfs";

    /// <summary>How often each silo makes sure every active configuration's inbox grain is scanning.</summary>
    public TimeSpan Reconcile { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>Keeps the inbox grain of every active CFS configuration scanning: a new configuration starts within one period.</summary>
public sealed class CfsInboxes(DispatchStore store, IGrainFactory grains, IOptions<CfsInboxesOptions> options,
    TimeProvider time, ILogger<CfsInboxes> logger) : GrainWaker(store, time, logger)
{
    protected override TimeSpan Period => options.Value.Reconcile;

    protected override Task<IEnumerable<Guid>> DueAsync(EngineScope scope, DateTimeOffset now) => CfsImports.ActiveIdsAsync(scope);

    protected override Task WakeAsync(Guid key) => grains.GetGrain<ICfsInboxGrain>(key).EnsureScanningAsync();
}
