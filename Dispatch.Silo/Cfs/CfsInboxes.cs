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

/// <summary>
/// Wakes the inbox grain of every active CFS configuration: a new configuration starts being scanned within one period, and a
/// grain whose silo died is activated on a live one as soon as the cluster has declared the death (sooner than its reminder).
/// Waking an already scanning grain is a no-op (and one-way: no round waits on a grain); which silo hosts it is the cluster's choice.
/// </summary>
public sealed class CfsInboxes(DispatchStore store, IGrainFactory grains, IOptions<CfsInboxesOptions> options, TimeProvider time,
    ILogger<CfsInboxes> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                IReadOnlyList<Guid> active;
                await using (var scope = await store.BeginEngineAsync(stoppingToken))
                    active = (await CfsImports.ActiveIdsAsync(scope)).ToList();
                await Task.WhenAll(active.Select(id => grains.GetGrain<ICfsInboxGrain>(id).EnsureScanningAsync()));
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Could not wake the CFS inboxes ({Error}); trying again", ex.Message);
            }
            await Task.Delay(options.Value.Reconcile, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}
