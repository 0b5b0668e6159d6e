using System.Security.Claims;
using Dispatch.Grains.Identity;
using Dispatch.Grains.Storage;

namespace Dispatch.Api.Auth;

/// <summary>The claims Dispatch puts on an authenticated caller, and the agency context they imply.</summary>
public static class Caller
{
    public const string AgencyIdClaim = "agency_id";
    public const string AgencyTypeClaim = "agency_type";
    public const string PermissionClaim = "perm";
    public const string KindClaim = "kind";
    public const string UserIdClaim = "sub";
    public const string CredentialIdClaim = "credential_id";

    public const string UserKind = "user";

    public static Guid AgencyId(this ClaimsPrincipal principal) => Guid.Parse(principal.FindFirstValue(AgencyIdClaim)!);

    public static string AgencyType(this ClaimsPrincipal principal) => principal.FindFirstValue(AgencyTypeClaim)!;

    public static Guid? UserId(this ClaimsPrincipal principal) =>
        principal.FindFirstValue(KindClaim) == UserKind ? Guid.Parse(principal.FindFirstValue(UserIdClaim)!) : null;

    public static Guid? CredentialId(this ClaimsPrincipal principal) =>
        Guid.TryParse(principal.FindFirstValue(CredentialIdClaim), out var id) ? id : null;

    public static IReadOnlySet<string> Permissions(this ClaimsPrincipal principal) =>
        principal.FindAll(PermissionClaim).Select(c => c.Value).ToHashSet();

    public static AgencyContext ToAgencyContext(this ClaimsPrincipal principal) => principal.FindFirstValue(KindClaim) switch
    {
        UserKind => new(principal.AgencyId(), principal.UserId()),
        Credentials.CommandConnectionKind => new(principal.AgencyId(), CommandConnectionId: principal.CredentialId()),
        _ => new(principal.AgencyId(), ApiKeyId: principal.CredentialId()),
    };

    public static ClaimsIdentity Identity(string authenticationType, string kind, string subject, Guid agencyId, string agencyType,
        IEnumerable<string> permissions)
    {
        var identity = new ClaimsIdentity(authenticationType, UserIdClaim, null);
        identity.AddClaim(new Claim(KindClaim, kind));
        identity.AddClaim(new Claim(kind == UserKind ? UserIdClaim : CredentialIdClaim, subject));
        identity.AddClaim(new Claim(AgencyIdClaim, agencyId.ToString()));
        identity.AddClaim(new Claim(AgencyTypeClaim, agencyType));
        foreach (var permission in permissions.Where(p => Grains.Identity.Permissions.Holdable(agencyType, kind, p)))
            identity.AddClaim(new Claim(PermissionClaim, permission));
        return identity;
    }
}
