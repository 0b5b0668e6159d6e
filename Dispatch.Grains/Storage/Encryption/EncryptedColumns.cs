namespace Dispatch.Grains.Storage.Encryption;

public enum EncryptedKind
{
    /// <summary>A starred text column, stored as bytea ciphertext.</summary>
    Text,

    /// <summary>A "(jsonb, encrypted)" column, stored as a jsonb envelope.</summary>
    Json,
}

public sealed record EncryptedColumn(string Table, string Column, EncryptedKind Kind)
{
    /// <summary>The associated data every ciphertext of this column is bound to.</summary>
    public string Context => $"{Table}.{Column}";
}

/// <summary>
/// Every column encrypted at rest: the spec's starred and "(jsonb, encrypted)" columns, the callback secret, and what a CAD call
/// carries beyond the spec's columns that may be personal (its narrative and extra fields), and how Dispatch proves itself to an
/// NG9-1-1 notifier.
/// </summary>
public static class EncryptedColumns
{
    public static readonly EncryptedColumn IncidentAddress = new("incidents", "address", EncryptedKind.Text);
    public static readonly EncryptedColumn CfsRawXml = new("cfs_incidents", "raw_xml", EncryptedKind.Text);
    public static readonly EncryptedColumn CfsNarrative = new("cfs_incidents", "narrative", EncryptedKind.Json);
    public static readonly EncryptedColumn CfsExtra = new("cfs_incidents", "extra", EncryptedKind.Json);
    public static readonly EncryptedColumn CommunicationContent = new("incident_communications", "content", EncryptedKind.Text);
    public static readonly EncryptedColumn CallbackSecret = new("command_connections", "callback_secret", EncryptedKind.Text);
    public static readonly EncryptedColumn PreferenceConfigOverride = new("user_transport_preferences", "config_override", EncryptedKind.Json);
    public static readonly EncryptedColumn TransportPlatformConfig = new("transport_types", "platform_config", EncryptedKind.Json);
    public static readonly EncryptedColumn ChannelConfig = new("transport_channels", "config", EncryptedKind.Json);
    public static readonly EncryptedColumn EidoCredentials = new("eido_subscriptions", "credentials", EncryptedKind.Json);

    public static IReadOnlyList<EncryptedColumn> All { get; } =
    [
        IncidentAddress, CfsRawXml, CfsNarrative, CfsExtra, CommunicationContent, CallbackSecret,
        PreferenceConfigOverride, TransportPlatformConfig, ChannelConfig, EidoCredentials,
    ];
}
