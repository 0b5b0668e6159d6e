using Dispatch.Grains.Escalation;
using Dispatch.Grains.Storage;

namespace Dispatch.Grains.Agencies;

/// <summary>
/// Routing decisions over an agency's configuration for a transaction that is about to write notifications. The configuration is
/// the one committed as of the transaction's own read of the agency's configuration version.
/// </summary>
public interface IAgencyRouting
{
    Task<EscalationRule?> RuleAsync(StoreScope scope, Guid agencyId, string priority);

    Task<RoutingPlan> PlanAsync(StoreScope scope, Guid agencyId, RoutingRequest request);

    /// <summary>As <see cref="PlanAsync"/>, at a configuration version the transaction has already read.</summary>
    Task<RoutingPlan> PlanAtAsync(StoreScope scope, Guid agencyId, long version, RoutingRequest request);
}

/// <summary>
/// In a silo: the agency's grain answers from its configuration in memory, reloading it first when the transaction sees another
/// version than the one it holds. The version read is one indexed row; the configuration itself is read once per change.
/// </summary>
public sealed class AgencyGrainRouting(IGrainFactory grains) : IAgencyRouting
{
    public async Task<EscalationRule?> RuleAsync(StoreScope scope, Guid agencyId, string priority) =>
        await grains.GetGrain<IAgencyGrain>(agencyId).RuleAsync(await AgencyConfigurations.VersionAsync(scope, agencyId), priority);

    public async Task<RoutingPlan> PlanAsync(StoreScope scope, Guid agencyId, RoutingRequest request) =>
        await grains.GetGrain<IAgencyGrain>(agencyId).PlanAsync(await AgencyConfigurations.VersionAsync(scope, agencyId), request);

    public Task<RoutingPlan> PlanAtAsync(StoreScope scope, Guid agencyId, long version, RoutingRequest request) =>
        grains.GetGrain<IAgencyGrain>(agencyId).PlanAsync(version, request);
}

/// <summary>Without a silo (tools, tests of the engine's SQL): the configuration is read in the transaction itself each time.</summary>
public sealed class StoredAgencyRouting : IAgencyRouting
{
    public static readonly StoredAgencyRouting Instance = new();

    public async Task<EscalationRule?> RuleAsync(StoreScope scope, Guid agencyId, string priority) =>
        (await LoadAsync(scope, agencyId)).RuleFor(priority);

    public async Task<RoutingPlan> PlanAsync(StoreScope scope, Guid agencyId, RoutingRequest request) =>
        (await LoadAsync(scope, agencyId)).Plan(request);

    public Task<RoutingPlan> PlanAtAsync(StoreScope scope, Guid agencyId, long version, RoutingRequest request) => PlanAsync(scope, agencyId, request);

    // A PSAP's transaction reads a company's configuration as that company: row-level security stays in force.
    private static Task<AgencyConfiguration> LoadAsync(StoreScope scope, Guid agencyId) =>
        scope is AgencyScope agency && agency.Context.AgencyId != agencyId
            ? agency.ReadAsAgencyAsync(agencyId, () => AgencyConfigurations.LoadAsync(scope, agencyId))
            : AgencyConfigurations.LoadAsync(scope, agencyId);
}
