using Dispatch.Grains.Notifications;
using Dispatch.Grains.Storage;
using Microsoft.Extensions.Options;

namespace Dispatch.Silo;

/// <summary>This silo, as the claimant of the deliveries its transactions queue: named by its address, as the membership names it.</summary>
public sealed class LocalSiloClaimant(ILocalSiloDetails silo, IOptions<DeliveryOptions> options, TimeProvider time) : IDeliveryClaimant
{
    public string Identity => SiloIdentity.Of(silo.SiloAddress);
    public DeliveryOptions Options => options.Value;
    public TimeProvider Time => time;
}
