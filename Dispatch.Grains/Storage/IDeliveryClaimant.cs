using Dispatch.Grains.Notifications;

namespace Dispatch.Grains.Storage;

/// <summary>
/// The silo whose transactions claim the deliveries they queue (see <see cref="StoreScope.CommitAsync"/>): its identity as a claim
/// names it (<c>notification_deliveries.claimed_by</c>), the lease, and its clock. Registered in silos only; elsewhere deliveries
/// stay queued for their grains to claim.
/// </summary>
public interface IDeliveryClaimant
{
    string Identity { get; }
    DeliveryOptions Options { get; }
    TimeProvider Time { get; }
}
