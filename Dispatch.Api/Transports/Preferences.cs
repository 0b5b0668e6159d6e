using System.Security.Claims;

namespace Dispatch.Api.Transports;

internal static class Preferences
{
    /// <summary>One's own preferences, or anyone's in the agency for a user manager.</summary>
    public static async Task<bool> MayManageAsync(AgencyScope scope, ClaimsPrincipal caller, Guid userId) =>
        (caller.UserId() == userId || caller.Permissions().Contains(Dispatch.Grains.Identity.Permissions.UsersManage))
        && await Users.GetAsync(scope, userId) is not null;
}
