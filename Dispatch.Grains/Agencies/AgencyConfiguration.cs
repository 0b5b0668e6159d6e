using Dispatch.Grains.Escalation;
using Dispatch.Grains.Routing;
using Dispatch.Grains.Storage;

namespace Dispatch.Grains.Agencies;

/// <summary>An active user as routing sees them: the role that names them in escalation tiers and whether it may acknowledge.</summary>
public sealed record ConfiguredUser(Guid Id, string RoleSlug, bool MayAcknowledge);

/// <summary>
/// Whom to route and for what incident: the users of <paramref name="Tier"/> (named users and holders of its roles), or, when the
/// tier reaches nobody active and <paramref name="FallbackToEveryone"/> is set, everyone who may acknowledge. With
/// <paramref name="FirstTierOfRule"/>, the tier is the first of the agency's rule for the priority, with the fallback.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RoutingRequest(string Priority, string? IncidentType, DateTimeOffset Now, EscalationTier? Tier = null,
    bool FallbackToEveryone = false, bool FirstTierOfRule = false)
{
    public static RoutingRequest FirstTier(string priority, string? incidentType, DateTimeOffset now) =>
        new(priority, incidentType, now, FirstTierOfRule: true);
}

/// <summary>Whom a request reaches and how; for a first tier, the rule that applies (if any).</summary>
[GenerateSerializer, Immutable]
public sealed record RoutingPlan(EscalationRule? Rule, IReadOnlyList<PlannedNotification> Notifications);

/// <summary>
/// An agency's routing inputs at one configuration version: its time zone, active channels and notification rules, active users
/// (in address order) with their roles and channel preferences, and active escalation rules. The decisions over them are pure.
/// </summary>
public sealed record AgencyConfiguration(Guid AgencyId, long Version, string TimeZone, IReadOnlyList<RoutingChannel> Channels,
    IReadOnlyList<RoutingRule> Rules, IReadOnlyList<ConfiguredUser> Users, IReadOnlyDictionary<Guid, IReadOnlyList<RoutingPreference>> Preferences,
    IReadOnlyList<EscalationRule> EscalationRules)
{
    // Resolved once per configuration, not on every plan: the grain routes many incidents from one copy.
    private TimeZoneInfo Zone { get; } = TimeZoneInfo.TryFindSystemTimeZoneById(TimeZone, out var zone) ? zone : TimeZoneInfo.Utc;

    /// <summary>The active rule covering <paramref name="priority"/> (rules are written so that at most one does).</summary>
    public EscalationRule? RuleFor(string priority) =>
        EscalationRules.FirstOrDefault(r => r.IsActive && (r.PriorityFilter is null || r.PriorityFilter.Contains(priority)));

    public IReadOnlyList<Guid> TierUsers(EscalationTier? tier, bool fallbackToEveryone)
    {
        var named = tier?.UserIds?.ToHashSet() ?? [];
        var roles = tier?.RoleSlugs?.ToHashSet() ?? [];
        var users = Users.Where(u => named.Contains(u.Id) || roles.Contains(u.RoleSlug)).Select(u => u.Id).ToList();
        if (users.Count == 0 && fallbackToEveryone) users = Users.Where(u => u.MayAcknowledge).Select(u => u.Id).ToList();
        return users;
    }

    public CompanyRouting Routing(IReadOnlyList<Guid> recipients) => new(Zone, Channels, Rules,
        recipients.Select(u => new RoutingRecipient(u, Preferences.GetValueOrDefault(u) ?? [])).ToList());

    public RoutingPlan Plan(RoutingRequest request)
    {
        var rule = request.FirstTierOfRule ? RuleFor(request.Priority) : null;
        var users = request.FirstTierOfRule
            ? TierUsers(rule?.EscalationOrder.FirstOrDefault(), fallbackToEveryone: true)
            : TierUsers(request.Tier, request.FallbackToEveryone);
        return new(rule, Router.Plan(Routing(users), request.Priority, request.IncidentType, request.Now));
    }
}

/// <summary>Reads an agency's configuration and its version.</summary>
public static class AgencyConfigurations
{
    /// <summary>The agency's configuration version as this transaction sees it: every change to a routing input moves it (migration 0013).</summary>
    public static Task<long> VersionAsync(StoreScope scope, Guid agencyId) =>
        scope.ExecuteScalarAsync<long>("select dispatch_configuration_version(@agencyId)", new { agencyId });

    /// <summary>
    /// The agency's configuration, read in <paramref name="scope"/> (which must see the agency's rows). The version is read first:
    /// a change committed while the rest is read makes the copy look older than it is, never newer, so it is reloaded, never trusted stale.
    /// </summary>
    public static async Task<AgencyConfiguration> LoadAsync(StoreScope scope, Guid agencyId)
    {
        var version = await VersionAsync(scope, agencyId);
        var zone = await scope.ExecuteScalarAsync<string>("select timezone from agencies where id = @agencyId", new { agencyId }) ?? "UTC";
        var channels = (await scope.QueryAsync<RoutingChannel>("""
            select c.id, t.slug as transport_slug from transport_channels c join transport_types t on t.id = c.transport_type_id
            where c.agency_id = @agencyId and c.is_active order by c.created_at, c.id
            """, new { agencyId })).ToList();
        var rules = (await scope.QueryAsync<RuleRow>("""
            select transport_channel_id as channel_id, priority_filter, type_filter, time_start, time_end
            from notification_rules where agency_id = @agencyId and is_active
            """, new { agencyId })).Select(r => new RoutingRule(r.ChannelId, r.PriorityFilter, r.TypeFilter, r.TimeStart, r.TimeEnd)).ToList();
        var users = (await scope.QueryAsync<ConfiguredUser>("""
            select u.id, r.slug as role_slug, r.permissions ? 'incidents.ack' as may_acknowledge
            from users u join roles r on r.id = u.role_id where u.agency_id = @agencyId and u.is_active
            order by u.email
            """, new { agencyId })).ToList();
        var preferences = (await scope.QueryAsync<PreferenceRow>("""
            select p.id, p.user_id, p.transport_channel_id as channel_id, p.priority_order, p.delivery_mode
            from user_transport_preferences p join users u on u.id = p.user_id where u.agency_id = @agencyId and u.is_active
            """, new { agencyId })).GroupBy(p => p.UserId)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<RoutingPreference>)g.Select(p => new RoutingPreference(p.Id, p.ChannelId, p.PriorityOrder, p.DeliveryMode)).ToList());
        var escalationRules = (await Escalation.EscalationRules.ListAsync(scope, agencyId)).Where(r => r.IsActive).ToList();
        return new AgencyConfiguration(agencyId, version, zone, channels, rules, users, preferences, escalationRules);
    }

    // Settable properties: Dapper hands text[] over as Array, which only property assignment converts.
    private sealed class RuleRow
    {
        public Guid ChannelId { get; set; }
        public string[]? PriorityFilter { get; set; }
        public string[]? TypeFilter { get; set; }
        public TimeOnly? TimeStart { get; set; }
        public TimeOnly? TimeEnd { get; set; }
    }

    private sealed record PreferenceRow(Guid Id, Guid UserId, Guid ChannelId, int PriorityOrder, string DeliveryMode);
}
