using Dispatch.Grains.Transports;
using FastEndpoints;

namespace Dispatch.Api.Transports.GetPreferences;

public sealed class GetTransportPreferences(DispatchStore store) : Endpoint<IdRoute, Results<Ok<IReadOnlyList<TransportPreference>>, NotFound>>
{
    public override void Configure()
    {
        Get("/");
        Group<PreferencesGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.PreferencesManageOwn));
        Description(d => d.WithName("GetTransportPreferences")
            .WithSummary("A user's channels in order, with delivery mode and personal addresses (their own, or any in the agency for an admin)."));
    }

    public override async Task<Results<Ok<IReadOnlyList<TransportPreference>>, NotFound>> ExecuteAsync(IdRoute request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        if (!await Preferences.MayManageAsync(scope, User, request.Id)) return TypedResults.NotFound();
        return TypedResults.Ok(await TransportConfiguration.PreferencesAsync(scope, request.Id));
    }
}
