using System.Text.Json.Nodes;
using Dispatch.Grains.Escalation;
using Dispatch.Grains.Identity;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Transports;
using Orleans.Concurrency;

namespace Dispatch.Grains.Agencies;

[GenerateSerializer, Immutable]
public sealed record ChannelDraft(string TransportType, string Name, JsonObject Config);

[GenerateSerializer, Immutable]
public sealed record ChannelChanges(string? Name, JsonObject? Config, bool? IsActive);

[GenerateSerializer, Immutable]
public sealed record NotificationRuleChanges(Guid ChannelId, string[]? PriorityFilter, string[]? TypeFilter, TimeOnly? TimeStart, TimeOnly? TimeEnd,
    bool IsActive);

[GenerateSerializer, Immutable]
public sealed record PreferenceChange(Guid ChannelId, int PriorityOrder, string DeliveryMode, JsonObject? ConfigOverride);

/// <summary>What a configuration write did: an outcome (<see cref="CommandOutcome"/>), the field errors or message of a refusal, and what was saved.</summary>
[GenerateSerializer, Immutable]
public sealed record ConfigurationResult<T>(string Outcome, T? Value = default, IReadOnlyDictionary<string, string[]>? Errors = null, string? Message = null)
{
    public static ConfigurationResult<T> Done(T value) => new(CommandOutcome.Done, value);
    public static readonly ConfigurationResult<T> NotFound = new(CommandOutcome.NotFound);
    public static ConfigurationResult<T> Invalid(IReadOnlyDictionary<string, string[]> errors) => new(CommandOutcome.Invalid, Errors: errors);
    public static ConfigurationResult<T> Invalid(string field, string message) => Invalid(new Dictionary<string, string[]> { [field] = [message] });
    public static ConfigurationResult<T> Conflict(string message) => new(CommandOutcome.Conflict, Message: message);
}

/// <summary>
/// One agency's configuration: the router's inputs in memory, and the writes to them. A stateless worker: one activation on each
/// silo that routes for the agency, always local to its caller, so a silo that dies or hangs never delays routing on another.
/// Routing asks with the configuration version its transaction sees; an activation reloads when it holds another one (a write
/// through another silo's activation, or a change made elsewhere: users and roles through the identity endpoints, the agency's time
/// zone, an operator's SQL — every such change moves the version, migration 0013).
/// </summary>
public interface IAgencyGrain : IGrainWithGuidKey
{
    Task<EscalationRule?> RuleAsync(long version, string priority);

    Task<RoutingPlan> PlanAsync(long version, RoutingRequest request);

    Task<ConfigurationResult<TransportChannel>> CreateChannelAsync(AgencyContext caller, ChannelDraft draft);

    Task<ConfigurationResult<TransportChannel>> UpdateChannelAsync(AgencyContext caller, Guid channelId, ChannelChanges changes);

    Task<ConfigurationResult<NotificationRule>> SaveNotificationRuleAsync(AgencyContext caller, Guid? ruleId, NotificationRuleChanges rule);

    Task<ConfigurationResult<bool>> DeleteNotificationRuleAsync(AgencyContext caller, Guid ruleId);

    Task<ConfigurationResult<IReadOnlyList<TransportPreference>>> ReplacePreferencesAsync(AgencyContext caller, Guid userId,
        IReadOnlyList<PreferenceChange> preferences);

    Task<ConfigurationResult<EscalationRule>> SaveEscalationRuleAsync(AgencyContext caller, Guid? ruleId, EscalationRuleChanges rule);

    Task<ConfigurationResult<bool>> DeleteEscalationRuleAsync(AgencyContext caller, Guid ruleId);
}

/// <summary>
/// The agency's configuration, read as the agency itself (row-level security in force) when first needed and again after any
/// change; each write is one transaction with its audit row, and the writing activation reads the configuration back in it, so the
/// next incident routed on this silo routes from memory.
/// </summary>
[StatelessWorker(1)]
internal sealed class AgencyGrain(DispatchStore store, TimeProvider time, OutboundPolicy outbound) : Grain, IAgencyGrain
{
    private AgencyConfiguration? _configuration;
    private Guid Id => this.GetPrimaryKey();

    public async Task<EscalationRule?> RuleAsync(long version, string priority) => (await ConfigurationAsync(version)).RuleFor(priority);

    public async Task<RoutingPlan> PlanAsync(long version, RoutingRequest request) => (await ConfigurationAsync(version)).Plan(request);

    /// <summary>
    /// The configuration at <paramref name="version"/> or later. A copy of another version is read again (in an agency transaction of
    /// its own: never from the engine's bounded gate, which the caller may be holding).
    /// </summary>
    private async Task<AgencyConfiguration> ConfigurationAsync(long version)
    {
        if (_configuration is { } held && held.Version == version) return held;
        await using var scope = await store.BeginAsync(new AgencyContext(Id));
        return _configuration = await AgencyConfigurations.LoadAsync(scope, Id);
    }

    public Task<ConfigurationResult<TransportChannel>> CreateChannelAsync(AgencyContext caller, ChannelDraft draft) =>
        WriteAsync(caller, async scope => ConfigurationResult<TransportChannel>.Done(
            await TransportConfiguration.CreateChannelAsync(scope, draft.TransportType, draft.Name, draft.Config, time.GetUtcNow())));

    public Task<ConfigurationResult<TransportChannel>> UpdateChannelAsync(AgencyContext caller, Guid channelId, ChannelChanges changes) =>
        WriteAsync(caller, async scope =>
        {
            try
            {
                var channel = await TransportConfiguration.UpdateChannelAsync(scope, channelId, changes.Name, changes.Config, changes.IsActive,
                    time.GetUtcNow(), async (slug, config) => ChannelConfig.Validate(slug, config, isOverride: false) is { Count: > 0 } invalid
                        ? invalid : await ChannelConfig.CheckDestinationsAsync(outbound, slug, config));
                return channel is null ? ConfigurationResult<TransportChannel>.NotFound : ConfigurationResult<TransportChannel>.Done(channel);
            }
            catch (ChannelConfigException e)
            {
                return ConfigurationResult<TransportChannel>.Invalid(e.Errors);
            }
        });

    public Task<ConfigurationResult<NotificationRule>> SaveNotificationRuleAsync(AgencyContext caller, Guid? ruleId, NotificationRuleChanges rule) =>
        WriteAsync(caller, async scope =>
        {
            if (ruleId is { } id && await TransportConfiguration.RuleAsync(scope, id) is null) return ConfigurationResult<NotificationRule>.NotFound;
            try
            {
                return ConfigurationResult<NotificationRule>.Done(await TransportConfiguration.SaveRuleAsync(scope, ruleId, rule.ChannelId,
                    rule.PriorityFilter, rule.TypeFilter, rule.TimeStart, rule.TimeEnd, rule.IsActive, time.GetUtcNow()));
            }
            catch (UnknownReferenceException e)
            {
                return ConfigurationResult<NotificationRule>.Invalid(e.Field, e.Message);
            }
        });

    public Task<ConfigurationResult<bool>> DeleteNotificationRuleAsync(AgencyContext caller, Guid ruleId) =>
        WriteAsync(caller, async scope => await TransportConfiguration.DeleteRuleAsync(scope, ruleId)
            ? ConfigurationResult<bool>.Done(true) : ConfigurationResult<bool>.NotFound);

    public Task<ConfigurationResult<IReadOnlyList<TransportPreference>>> ReplacePreferencesAsync(AgencyContext caller, Guid userId,
        IReadOnlyList<PreferenceChange> preferences) =>
        WriteAsync(caller, async scope =>
        {
            if (await Users.GetAsync(scope, userId) is null) return ConfigurationResult<IReadOnlyList<TransportPreference>>.NotFound;
            var items = preferences.Select(p => (p.ChannelId, p.PriorityOrder, p.DeliveryMode, p.ConfigOverride)).ToList();
            return ConfigurationResult<IReadOnlyList<TransportPreference>>.Done(
                await TransportConfiguration.ReplacePreferencesAsync(scope, userId, items, time.GetUtcNow()));
        });

    public Task<ConfigurationResult<EscalationRule>> SaveEscalationRuleAsync(AgencyContext caller, Guid? ruleId, EscalationRuleChanges rule) =>
        WriteAsync(caller, async scope =>
        {
            if (ruleId is { } id && (await EscalationRules.GetAsync(scope, id))?.AgencyId != Id) return ConfigurationResult<EscalationRule>.NotFound;
            if (await EscalationRules.CheckReferencesAsync(scope, rule) is { Count: > 0 } errors) return ConfigurationResult<EscalationRule>.Invalid(errors);
            try
            {
                return ConfigurationResult<EscalationRule>.Done(await EscalationRules.SaveAsync(scope, ruleId, rule, time.GetUtcNow()));
            }
            catch (OverlappingRuleException e)
            {
                return ConfigurationResult<EscalationRule>.Conflict(e.Message);
            }
        });

    public Task<ConfigurationResult<bool>> DeleteEscalationRuleAsync(AgencyContext caller, Guid ruleId) =>
        WriteAsync(caller, async scope => await EscalationRules.DeleteAsync(scope, ruleId)
            ? ConfigurationResult<bool>.Done(true) : ConfigurationResult<bool>.NotFound);

    /// <summary>One write in the caller's transaction (its audit row names the caller); committed only when it did something.</summary>
    private async Task<ConfigurationResult<T>> WriteAsync<T>(AgencyContext caller, Func<AgencyScope, Task<ConfigurationResult<T>>> write)
    {
        if (caller.AgencyId != Id) return ConfigurationResult<T>.NotFound; // an agency writes only its own configuration
        await using var scope = await store.BeginAsync(caller);
        var result = await write(scope);
        if (result.Outcome != CommandOutcome.Done) return result;
        // Written through: read back in the same transaction, whose version row this write holds locked, so the copy is exactly
        // what commits; memory changes only once it has.
        var written = await AgencyConfigurations.LoadAsync(scope, Id);
        await scope.CommitAsync();
        _configuration = written;
        return result;
    }
}
