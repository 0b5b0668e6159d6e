namespace Dispatch.Grains.Identity;

public static class AgencyType
{
    public const string Psap = "psap";
    public const string Company = "company";

    public static bool IsValid(string? type) => type is Psap or Company;
}

/// <summary>The named permissions every endpoint checks; roles hold them, API keys hold them as scopes.</summary>
public static class Permissions
{
    public const string AgenciesRead = "agencies.read";
    public const string AgenciesManage = "agencies.manage";
    public const string UsersRead = "users.read";
    public const string UsersManage = "users.manage";
    public const string RolesManage = "roles.manage";
    public const string ApiKeysManage = "api-keys.manage";
    public const string CommandConnectionsManage = "command-connections.manage";
    public const string IncidentsRead = "incidents.read";
    public const string IncidentsCreate = "incidents.create";
    public const string IncidentsManage = "incidents.manage";
    public const string IncidentsAck = "incidents.ack";
    public const string CfsRead = "cfs.read";
    public const string CfsManage = "cfs.manage";
    public const string EscalationRulesRead = "escalation-rules.read";
    public const string EscalationRulesManage = "escalation-rules.manage";
    public const string TransportChannelsManage = "transport-channels.manage";
    public const string NotificationRulesManage = "notification-rules.manage";
    public const string PreferencesManageOwn = "preferences.manage-own";
    public const string AuditRead = "audit.read";
    public const string CommandAcksRead = "command.acks.read";

    /// <summary>Sending a command connection's heartbeat: held by a connection's own key only, never granted to a role or an API key.</summary>
    public const string CommandHeartbeat = "command.heartbeat";

    /// <summary>Push EIDOs (<c>POST /api/v1/eido</c>) into the EIDO subscription that names the connection.</summary>
    public const string EidoPush = "eido.push";

    // Both kinds of agency reach their own people: a PSAP's users receive escalation alerts on the PSAP's channels.
    private static readonly string[] Shared =
        [AgenciesRead, AgenciesManage, UsersRead, UsersManage, RolesManage, ApiKeysManage, IncidentsRead, AuditRead,
         TransportChannelsManage, NotificationRulesManage, PreferencesManageOwn];

    private static readonly string[] PsapOnly =
        [CommandConnectionsManage, IncidentsCreate, IncidentsManage, CfsRead, CfsManage, EscalationRulesRead, CommandAcksRead];

    private static readonly string[] CompanyOnly =
        [IncidentsAck, EscalationRulesRead, EscalationRulesManage];

    /// <summary>
    /// Whether a credential of <paramref name="credentialKind"/> (<see cref="Credentials"/>' kinds) of an agency of
    /// <paramref name="agencyType"/> may hold <paramref name="permission"/>: what its agency's roles may be given, and for a PSAP's
    /// command connection also what only a command system does (its heartbeat).
    /// </summary>
    public static bool Holdable(string agencyType, string credentialKind, string permission) =>
        AllowedFor(agencyType).Contains(permission)
        || (credentialKind == Credentials.CommandConnectionKind && agencyType == AgencyType.Psap && CommandSystem.Contains(permission));

    /// <summary>What a role of an agency of <paramref name="agencyType"/> may be given.</summary>
    public static IReadOnlySet<string> AllowedFor(string agencyType) => agencyType switch
    {
        AgencyType.Psap => PsapAllowed,
        AgencyType.Company => CompanyAllowed,
        _ => NoneAllowed,
    };

    // Read on every authenticated request: built once.
    private static readonly IReadOnlySet<string> PsapAllowed = Shared.Concat(PsapOnly).ToHashSet();
    private static readonly IReadOnlySet<string> CompanyAllowed = Shared.Concat(CompanyOnly).ToHashSet();
    private static readonly IReadOnlySet<string> NoneAllowed = new HashSet<string>();

    /// <summary>What a PSAP's command (CAD) system may do with its connection key (its heartbeat included, which nothing else may send).</summary>
    public static IReadOnlyList<string> CommandSystem { get; } = [IncidentsCreate, IncidentsRead, CommandAcksRead, CommandHeartbeat, EidoPush];
}
