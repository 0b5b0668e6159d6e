namespace Dispatch.Grains.Routing;

public sealed record RoutingChannel(Guid Id, string TransportSlug);

public sealed record RoutingRule(Guid ChannelId, string[]? PriorityFilter, string[]? TypeFilter, TimeOnly? TimeStart, TimeOnly? TimeEnd);

public sealed record RoutingPreference(Guid Id, Guid ChannelId, int PriorityOrder, string DeliveryMode);

public sealed record RoutingRecipient(Guid UserId, IReadOnlyList<RoutingPreference> Preferences);

/// <summary>A company's routing configuration as it stands when an incident reaches it.</summary>
public sealed record CompanyRouting(TimeZoneInfo Zone, IReadOnlyList<RoutingChannel> Channels, IReadOnlyList<RoutingRule> Rules,
    IReadOnlyList<RoutingRecipient> Recipients);

/// <summary>One delivery to create: queued now, or waiting behind earlier ones in a failover chain.</summary>
[GenerateSerializer, Immutable]
public sealed record PlannedDelivery(Guid ChannelId, string TransportSlug, Guid? PreferenceId, int Sequence, bool Queued);

[GenerateSerializer, Immutable]
public sealed record PlannedNotification(Guid UserId, IReadOnlyList<PlannedDelivery> Deliveries);

/// <summary>
/// Who at a company hears of an incident, and how: pure decisions over the company's configuration.
/// Rules pick the eligible channels (all active channels when the company has no rules); each recipient's
/// preferences order them, all at once or failing over; a recipient without a usable preference is reached on the
/// eligible channels that need no personal address (email to their login address, the company webhook).
/// </summary>
public static class Router
{
    public const string AllAtOnce = "all";
    public const string Failover = "failover";

    /// <summary>[start, end) on the wall clock; a window whose end is before its start runs across midnight; start = end is all day.</summary>
    public static bool InWindow(TimeOnly start, TimeOnly end, TimeOnly local) =>
        start == end || (start < end ? local >= start && local < end : local >= start || local < end);

    public static bool Matches(RoutingRule rule, string priority, string? incidentType, DateTimeOffset now, TimeZoneInfo zone)
    {
        if (rule.PriorityFilter is { Length: > 0 } priorities && !priorities.Contains(priority)) return false;
        if (rule.TypeFilter is { Length: > 0 } types && (incidentType is null || !types.Contains(incidentType))) return false;
        if (rule.TimeStart is { } start && rule.TimeEnd is { } end)
            return InWindow(start, end, TimeOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, zone).DateTime));
        return true;
    }

    public static IReadOnlySet<Guid> EligibleChannels(CompanyRouting company, string priority, string? incidentType, DateTimeOffset now)
    {
        var active = company.Channels.Select(c => c.Id).ToHashSet();
        if (company.Rules.Count == 0) return active;
        return company.Rules.Where(r => active.Contains(r.ChannelId) && Matches(r, priority, incidentType, now, company.Zone))
            .Select(r => r.ChannelId).ToHashSet();
    }

    public static IReadOnlyList<PlannedNotification> Plan(CompanyRouting company, string priority, string? incidentType, DateTimeOffset now)
    {
        var eligible = EligibleChannels(company, priority, incidentType, now);
        var channels = company.Channels.ToDictionary(c => c.Id);
        var plans = new List<PlannedNotification>();
        foreach (var recipient in company.Recipients)
        {
            var preferred = recipient.Preferences.Where(p => eligible.Contains(p.ChannelId)).OrderBy(p => p.PriorityOrder).ToList();
            List<PlannedDelivery> deliveries;
            if (preferred.Count > 0)
            {
                var failover = preferred[0].DeliveryMode == Failover;
                deliveries = preferred.Select((p, i) =>
                    new PlannedDelivery(p.ChannelId, channels[p.ChannelId].TransportSlug, p.Id, i + 1, Queued: !failover || i == 0)).ToList();
            }
            else
            {
                deliveries = company.Channels
                    .Where(c => eligible.Contains(c.Id) && c.TransportSlug is Transports.TransportSlug.Email or Transports.TransportSlug.Webhook)
                    .Select((c, i) => new PlannedDelivery(c.Id, c.TransportSlug, null, i + 1, Queued: true)).ToList();
            }
            if (deliveries.Count > 0) plans.Add(new PlannedNotification(recipient.UserId, deliveries));
        }
        return plans;
    }
}
