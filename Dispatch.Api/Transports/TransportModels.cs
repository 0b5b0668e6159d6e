using System.Text.Json.Nodes;
using Dispatch.Api.Http;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Routing;
using Dispatch.Grains.Transports;

namespace Dispatch.Api.Transports;

public sealed record ChannelRequest(string? TransportType, string? Name, JsonObject? Config, bool? IsActive)
{
    public Errors Validate(bool creating)
    {
        var errors = new Errors()
            .Check(!creating || TransportSlug.All.Contains(TransportType ?? ""), "transportType", "transportType is one of email, webhook, sms, telegram.")
            .Check(!creating || !string.IsNullOrWhiteSpace(Name), "name", "name is required.")
            .Check(Name is null || Name.Trim().Length is > 0 and <= 100, "name", "name is 1–100 characters.");
        if (creating && TransportSlug.All.Contains(TransportType ?? ""))
            foreach (var (field, messages) in ChannelConfig.Validate(TransportType!, Config ?? new JsonObject(), isOverride: false))
                foreach (var m in messages) errors.Add(field, m);
        return errors;
    }
}

public sealed record RuleRequest(Guid? TransportChannelId, string[]? PriorityFilter, string[]? TypeFilter, string? TimeStart, string? TimeEnd, bool? IsActive)
{
    public Errors Validate(out TimeOnly? start, out TimeOnly? end)
    {
        start = TimeOnly.TryParse(TimeStart, out var s) ? s : null;
        end = TimeOnly.TryParse(TimeEnd, out var e) ? e : null;
        return new Errors()
            .Check(TransportChannelId is not null, "transportChannelId", "transportChannelId is required.")
            .Check((PriorityFilter ?? []).All(IncidentPriority.IsValid), "priorityFilter", "priorityFilter holds irod, critical, dangerous, routine_special.")
            .Check((TypeFilter ?? []).All(Endpoints.IsSlug), "typeFilter", "typeFilter holds incident type slugs.")
            .Check(TimeStart is null || start is not null, "timeStart", "timeStart is a time of day such as 22:00.")
            .Check(TimeEnd is null || end is not null, "timeEnd", "timeEnd is a time of day such as 06:00.")
            .Check((TimeStart is null) == (TimeEnd is null), "timeEnd", "a window needs both timeStart and timeEnd (the company's local time; it may run across midnight).");
    }
}

public sealed record PreferenceItem(Guid? TransportChannelId, int? PriorityOrder, string? DeliveryMode, JsonObject? ConfigOverride);

public sealed record PreferencesRequest(IReadOnlyList<PreferenceItem>? Preferences)
{
    public Errors Validate(IReadOnlyDictionary<Guid, string> channelSlugs)
    {
        var errors = new Errors().Check(Preferences is not null, "preferences", "preferences is the full ordered list (it may be empty).");
        var items = Preferences ?? [];
        errors.Check(items.Select(p => p.TransportChannelId).Distinct().Count() == items.Count, "preferences", "each channel appears once.");
        errors.Check(items.Select(p => p.DeliveryMode ?? Router.AllAtOnce).Distinct().Count() <= 1, "preferences",
            "use one delivery mode (all or failover) for a user's preferences.");
        for (var i = 0; i < items.Count; i++)
        {
            var p = items[i];
            if (p.TransportChannelId is not { } channel || !channelSlugs.TryGetValue(channel, out var slug))
            {
                errors.Add($"preferences[{i}].transportChannelId", "not a channel of this user's agency.");
                continue;
            }
            errors.Check(p.DeliveryMode is null or Router.AllAtOnce or Router.Failover, $"preferences[{i}].deliveryMode", "deliveryMode is all or failover.");
            errors.Check(p.PriorityOrder is null or >= 1, $"preferences[{i}].priorityOrder", "priorityOrder starts at 1.");
            if (p.ConfigOverride is not null)
                foreach (var (field, messages) in ChannelConfig.Validate(slug, p.ConfigOverride, isOverride: true, $"preferences[{i}].configOverride"))
                    foreach (var m in messages) errors.Add(field, m);
        }
        return errors;
    }
}
