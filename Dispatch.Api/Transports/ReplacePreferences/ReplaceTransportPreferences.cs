using System.Text.Json.Nodes;
using Dispatch.Grains.Transports;
using FastEndpoints;
using FluentValidation;

namespace Dispatch.Api.Transports.ReplacePreferences;

public sealed class PreferenceItem
{
    public Guid? TransportChannelId { get; set; }
    public int? PriorityOrder { get; set; }
    public string? DeliveryMode { get; set; }
    public JsonObject? ConfigOverride { get; set; }
}

public sealed class ReplacePreferencesRequest
{
    public Guid Id { get; set; }
    public IReadOnlyList<PreferenceItem>? Preferences { get; set; }
}

/// <summary>The list's own shape; whether each channel is the agency's, and its personal address, is checked against the agency's channels.</summary>
public sealed class ReplacePreferencesValidator : Validator<ReplacePreferencesRequest>
{
    public ReplacePreferencesValidator()
    {
        RuleFor(r => r.Preferences).NotNull().WithMessage("preferences is the full ordered list (it may be empty).");
        RuleFor(r => r.Preferences).AtMost("preferences", 20);
        RuleFor(r => r.Preferences).Must(p => p is null || p.Select(i => i.TransportChannelId).Distinct().Count() == p.Count)
            .WithMessage("each channel appears once.");
        RuleFor(r => r.Preferences).Must(p => p is null || p.Select(i => i.DeliveryMode ?? Router.AllAtOnce).Distinct().Count() <= 1)
            .WithMessage("use one delivery mode (all or failover) for a user's preferences.");
        RuleForEach(r => r.Preferences).ChildRules(item =>
        {
            item.RuleFor(i => i.DeliveryMode).Must(m => m is null or Router.AllAtOnce or Router.Failover).WithMessage("deliveryMode is all or failover.");
            item.RuleFor(i => i.PriorityOrder).Must(o => o is null or >= 1).WithMessage("priorityOrder starts at 1.");
        });
    }
}

public sealed class ReplaceTransportPreferences(IClusterClient grains, DispatchStore store, OutboundPolicy outbound)
    : Endpoint<ReplacePreferencesRequest, Results<Ok<IReadOnlyList<TransportPreference>>, NotFound, ValidationProblem>>
{
    public override void Configure()
    {
        Put("/");
        Group<PreferencesGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.PreferencesManageOwn));
        Description(d => d.WithName("ReplaceTransportPreferences").WithSummary("Replace a user's preferences."));
        DontThrowIfValidationFails(); // a user the caller may not manage is not found, whatever the body says
    }

    public override async Task<Results<Ok<IReadOnlyList<TransportPreference>>, NotFound, ValidationProblem>> ExecuteAsync(
        ReplacePreferencesRequest request, CancellationToken ct)
    {
        var context = User.ToAgencyContext();
        Dictionary<Guid, string> channels;
        await using (var scope = await store.BeginAsync(context))
        {
            if (!await Preferences.MayManageAsync(scope, User, request.Id)) return TypedResults.NotFound();
            channels = (await TransportConfiguration.ChannelsAsync(scope)).ToDictionary(c => c.Id, c => c.TransportTypeSlug);
        }
        var errors = FastEndpointsSetup.Fields(ValidationFailures);
        foreach (var (field, messages) in ChannelErrors(request.Preferences ?? [], channels)) errors.TryAdd(field, messages);
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);
        foreach (var (p, i) in request.Preferences!.Select((p, i) => (p, i)))
            if (await ChannelConfig.CheckDestinationsAsync(outbound, channels[p.TransportChannelId!.Value], p.ConfigOverride, $"preferences[{i}].configOverride")
                is { Count: > 0 } refused)
                return TypedResults.ValidationProblem(refused);
        var items = request.Preferences!.Select((p, i) =>
            new PreferenceChange(p.TransportChannelId!.Value, p.PriorityOrder ?? i + 1, p.DeliveryMode ?? Router.AllAtOnce, p.ConfigOverride)).ToList();
        var result = await grains.GetGrain<IAgencyGrain>(context.AgencyId).ReplacePreferencesAsync(context, request.Id, items);
        return result.Outcome == CommandOutcome.Done ? TypedResults.Ok(result.Value!) : TypedResults.NotFound();
    }

    /// <summary>Each item names one of the agency's channels, and its personal address fits that channel's type.</summary>
    private static Dictionary<string, string[]> ChannelErrors(IReadOnlyList<PreferenceItem> items, IReadOnlyDictionary<Guid, string> channels)
    {
        var errors = new Errors();
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i].TransportChannelId is not { } channel || !channels.TryGetValue(channel, out var slug))
            {
                errors.Add($"preferences[{i}].transportChannelId", "not a channel of this user's agency.");
                continue;
            }
            if (items[i].ConfigOverride is { } personal)
                foreach (var (field, messages) in ChannelConfig.Validate(slug, personal, isOverride: true, $"preferences[{i}].configOverride"))
                    foreach (var m in messages) errors.Add(field, m);
        }
        return errors.ToDictionary();
    }
}
