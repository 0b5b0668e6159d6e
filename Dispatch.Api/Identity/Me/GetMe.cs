using FastEndpoints;

namespace Dispatch.Api.Identity.Me;

/// <summary>Who the caller is, as a screen needs it: their name, their agency and its kind, and what they may do.</summary>
public sealed record Me(Guid UserId, string Email, string Name, Guid AgencyId, string AgencyName, string AgencyType, IReadOnlyList<string> Permissions);

/// <summary><c>GET /api/v1/me</c>: the signed-in user (a key or a command connection has no "me": 404).</summary>
public sealed class GetMe(DispatchStore store) : EndpointWithoutRequest<Results<Ok<Me>, NotFound>>
{
    public override void Configure()
    {
        Get("/api/v1/me");
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.IncidentsRead));
        Description(d => d.WithTags("Identity").WithName("GetMe").WithSummary("The signed-in user, their agency and their permissions."));
    }

    public override async Task<Results<Ok<Me>, NotFound>> ExecuteAsync(CancellationToken ct)
    {
        if (User.UserId() is not { } userId) return TypedResults.NotFound();
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        if (await Grains.Identity.Users.GetAsync(scope, userId) is not { } user || await Grains.Identity.Agencies.GetAsync(scope, user.AgencyId) is not { } agency)
            return TypedResults.NotFound();
        var name = $"{user.FirstName} {user.LastName}".Trim();
        return TypedResults.Ok(new Me(user.Id, user.Email, name.Length > 0 ? name : user.Email, agency.Id, agency.Name, agency.AgencyType,
            User.Permissions().Order().ToList()));
    }
}
