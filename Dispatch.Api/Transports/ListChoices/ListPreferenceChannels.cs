using Dispatch.Grains.Transports;
using FastEndpoints;

namespace Dispatch.Api.Transports.ListChoices;

/// <summary>A channel a person may put in their preferences: its name and transport, nothing of its configuration.</summary>
public sealed record ChannelChoice(Guid Id, string Name, string TransportTypeSlug);

/// <summary>
/// <c>GET /api/v1/users/{id}/transport-preferences/channels</c>: the agency's active channels a user may choose from. A responder
/// manages their own preferences but not the channels (<c>transport-channels.manage</c>), and still has to see what to choose.
/// </summary>
public sealed class ListPreferenceChannels(DispatchStore store) : Endpoint<IdRoute, Results<Ok<IReadOnlyList<ChannelChoice>>, NotFound>>
{
    public override void Configure()
    {
        Get("/channels");
        Group<PreferencesGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.PreferencesManageOwn));
        Description(d => d.WithName("ListPreferenceChannels").WithSummary("The channels a user may choose for their preferences (names and transports only)."));
    }

    public override async Task<Results<Ok<IReadOnlyList<ChannelChoice>>, NotFound>> ExecuteAsync(IdRoute request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        if (!await Preferences.MayManageAsync(scope, User, request.Id)) return TypedResults.NotFound();
        return TypedResults.Ok<IReadOnlyList<ChannelChoice>>((await TransportConfiguration.ChannelsAsync(scope))
            .Where(c => c.IsActive).Select(c => new ChannelChoice(c.Id, c.Name, c.TransportTypeSlug)).ToList());
    }
}
