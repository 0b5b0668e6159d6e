using System.Text.Json;
using System.Text.Json.Serialization;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;

namespace Dispatch.Grains.Eido;

public static class EidoSubType
{
    /// <summary>Every new incident the notifier learns of, and its updates.</summary>
    public const string New = "new";

    /// <summary>One incident, named by its identifier.</summary>
    public const string Single = "single";

    public static bool IsValid(string? value) => value is New or Single;
}

/// <summary>
/// How Dispatch proves itself to a PSAP's notifier: an <c>Authorization</c> header value (a bearer token, say) and/or a client
/// certificate for mutual TLS (PKCS#12, base64, with its password). Sealed at rest; never shown again once saved.
/// </summary>
public sealed record EidoCredentials(string? Authorization = null, string? ClientCertificate = null, string? ClientCertificatePassword = null)
{
    [JsonIgnore]
    public IReadOnlyList<string> Present => [.. new[] { ("authorization", Authorization), ("clientCertificate", ClientCertificate) }
        .Where(c => !string.IsNullOrEmpty(c.Item2)).Select(c => c.Item1)];
}

/// <summary>What the subscriber last knew of its notifier: the notifier's subscription id and expiry, the last connection and event, the last error.</summary>
public sealed record EidoSubscriptionState(string? RemoteSubscriptionId, DateTimeOffset? SubscribedUntil, DateTimeOffset? ConnectedAt,
    DateTimeOffset? LastEventAt, string? LastError);

/// <summary>An EIDO subscription as the API shows it: its credentials only by which are set.</summary>
public sealed record EidoSubscription(Guid Id, Guid AgencyId, string Name, string? NotifierUrl, string SubType, string? IncidentId,
    IReadOnlyList<string> CredentialsSet, Guid? CommandConnectionId, EidoMapping Mapping, int ExpiresSeconds, bool IsActive,
    EidoSubscriptionState State, int Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>A subscription's settings as saved; <see cref="Credentials"/> null keeps what is stored.</summary>
public sealed record EidoSubscriptionChanges(string Name, string? NotifierUrl, string SubType, string? IncidentId, EidoCredentials? Credentials,
    Guid? CommandConnectionId, EidoMapping Mapping, int ExpiresSeconds, bool IsActive);

/// <summary>What the subscriber grain needs: where to connect, how to prove itself, what to ask for and how to map what comes.</summary>
[GenerateSerializer, Immutable]
public sealed record EidoSubscriberSettings(
    [property: Id(0)] Guid Id,
    [property: Id(1)] Guid AgencyId,
    [property: Id(2)] string? NotifierUrl,
    [property: Id(3)] string SubType,
    [property: Id(4)] string? IncidentId,
    [property: Id(5)] string? Authorization,
    [property: Id(6)] string? ClientCertificate,
    [property: Id(7)] string? ClientCertificatePassword,
    [property: Id(8)] int ExpiresSeconds,
    [property: Id(9)] int Version);

/// <summary>A received event as the API lists it.</summary>
public sealed record EidoEventView(Guid Id, Guid EidoSubscriptionId, string TransactionId, string Via, int StatusCode, string StatusText, int EidoCount,
    int WarningCount, IReadOnlyList<Guid> CfsIncidentIds, DateTimeOffset ReceivedAt);

/// <summary>A PSAP's EIDO subscriptions (NENA-STA-024): managed like CAD inbox configurations.</summary>
public static class EidoSubscriptions
{
    private const string Select = """
        select id, agency_id, name, notifier_url, sub_type, incident_id, credentials::text as credentials, command_connection_id,
               mapping::text as mapping, expires_seconds, is_active, remote_subscription_id, subscribed_until, connected_at, last_event_at,
               last_error, version, created_at, updated_at
        from eido_subscriptions
        """;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerOptions.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static async Task<IReadOnlyList<EidoSubscription>> ListAsync(AgencyScope scope) =>
        (await scope.QueryAsync<Row>($"{Select} order by created_at")).Select(r => r.ToView(scope.Cipher)).ToList();

    public static async Task<EidoSubscription?> GetAsync(StoreScope scope, Guid id) =>
        (await scope.QuerySingleOrDefaultAsync<Row>($"{Select} where id = @id", new { id }))?.ToView(scope.Cipher);

    /// <summary>The active subscription a command connection pushes EIDOs into, if any.</summary>
    public static async Task<EidoSubscription?> ForConnectionAsync(AgencyScope scope, Guid connectionId) =>
        (await scope.QuerySingleOrDefaultAsync<Row>($"{Select} where command_connection_id = @connectionId and is_active", new { connectionId }))
        ?.ToView(scope.Cipher);

    /// <summary>The subscriber's settings while the subscription is active and has a notifier to connect to; null otherwise.</summary>
    public static async Task<EidoSubscriberSettings?> SubscriberAsync(EngineScope scope, Guid id)
    {
        var row = await scope.QuerySingleOrDefaultAsync<Row>($"{Select} where id = @id and is_active and notifier_url is not null", new { id });
        if (row is null) return null;
        var credentials = row.Open(scope.Cipher) ?? new EidoCredentials();
        return new EidoSubscriberSettings(row.Id, row.AgencyId, row.NotifierUrl, row.SubType, row.IncidentId, credentials.Authorization,
            credentials.ClientCertificate, credentials.ClientCertificatePassword, row.ExpiresSeconds, row.Version);
    }

    /// <summary>Every subscription that should be connected to its notifier.</summary>
    public static Task<IEnumerable<Guid>> SubscriberIdsAsync(EngineScope scope) =>
        scope.QueryAsync<Guid>("select id from eido_subscriptions where is_active and notifier_url is not null");

    public static async Task<EidoSubscription> SaveAsync(AgencyScope scope, Guid? id, EidoSubscriptionChanges c, DateTimeOffset now)
    {
        var before = id is null ? null : await GetAsync(scope, id.Value);
        var subscriptionId = id ?? Guid.CreateVersion7();
        var credentials = c.Credentials is null ? null
            : c.Credentials.Present.Count == 0 ? "" // sent empty: cleared
            : scope.Cipher.EncryptJson(JsonSerializer.Serialize(c.Credentials, Json), EncryptedColumns.EidoCredentials.Context);
        await scope.ExecuteAsync("""
            insert into eido_subscriptions (id, agency_id, name, notifier_url, sub_type, incident_id, credentials, command_connection_id, mapping,
                                            expires_seconds, is_active, created_at, updated_at)
            values (@subscriptionId, @agency, @Name, @NotifierUrl, @SubType, @IncidentId, nullif(@credentials, '')::jsonb, @CommandConnectionId,
                    @mapping::jsonb, @ExpiresSeconds, @IsActive, @now, @now)
            on conflict (id) do update set name = excluded.name, notifier_url = excluded.notifier_url, sub_type = excluded.sub_type,
                incident_id = excluded.incident_id,
                credentials = case when @credentials::text is null then eido_subscriptions.credentials else excluded.credentials end,
                command_connection_id = excluded.command_connection_id, mapping = excluded.mapping, expires_seconds = excluded.expires_seconds,
                is_active = excluded.is_active, version = eido_subscriptions.version + 1, updated_at = excluded.updated_at
            """, new
        {
            subscriptionId, agency = scope.Context.AgencyId, c.Name, c.NotifierUrl, c.SubType, c.IncidentId, credentials, c.CommandConnectionId,
            mapping = c.Mapping.ToJson(), c.ExpiresSeconds, c.IsActive, now,
        });
        var after = (await GetAsync(scope, subscriptionId))!;
        // The views name which credentials are set, never their values.
        await scope.AuditAsync(before is null ? "eido_subscription.created" : "eido_subscription.updated", "eido_subscription", subscriptionId, before, after);
        return after;
    }

    /// <summary>Whether another active subscription already takes this command connection's pushes.</summary>
    public static Task<bool> ConnectionTakenAsync(AgencyScope scope, Guid connectionId, Guid? except) => scope.ExecuteScalarAsync<bool>(
        "select exists (select 1 from eido_subscriptions where command_connection_id = @connectionId and is_active and id is distinct from @except)",
        new { connectionId, except });

    /// <summary>Records what the subscriber knows of its notifier now (null fields are left as they were, but for the error, which is set as given).</summary>
    public static Task RecordStateAsync(EngineScope scope, Guid id, string? remoteSubscriptionId, DateTimeOffset? subscribedUntil,
        DateTimeOffset? connectedAt, string? error) => scope.ExecuteAsync("""
            update eido_subscriptions set remote_subscription_id = coalesce(@remoteSubscriptionId, remote_subscription_id),
                subscribed_until = coalesce(@subscribedUntil, subscribed_until), connected_at = coalesce(@connectedAt, connected_at),
                last_error = @error
            where id = @id
            """, new { id, remoteSubscriptionId, subscribedUntil, connectedAt, error });

    public static async Task<(IReadOnlyList<EidoEventView> Items, long Total)> ListEventsAsync(AgencyScope scope, Guid subscriptionId, long offset, int limit)
    {
        var rows = await scope.QueryAsync<EventRow>("""
            select id, eido_subscription_id, transaction_id, via, status_code, status_text, eido_count, warning_count,
                   array_to_json(cfs_incident_ids)::text as cfs_incident_ids, received_at
            from eido_events where eido_subscription_id = @subscriptionId order by received_at desc, id offset @offset limit @limit
            """, new { subscriptionId, offset, limit });
        var total = await scope.ExecuteScalarAsync<long>("select count(*) from eido_events where eido_subscription_id = @subscriptionId", new { subscriptionId });
        return (rows.Select(r => new EidoEventView(r.Id, r.EidoSubscriptionId, r.TransactionId, r.Via, r.StatusCode, r.StatusText, r.EidoCount,
            r.WarningCount, JsonSerializer.Deserialize<Guid[]>(r.CfsIncidentIds) ?? [], Time.Utc(r.ReceivedAt))).ToList(), total);
    }

    private sealed record EventRow(Guid Id, Guid EidoSubscriptionId, string TransactionId, string Via, int StatusCode, string StatusText, int EidoCount,
        int WarningCount, string CfsIncidentIds, DateTime ReceivedAt);

    private sealed record Row(Guid Id, Guid AgencyId, string Name, string? NotifierUrl, string SubType, string? IncidentId, string? Credentials,
        Guid? CommandConnectionId, string Mapping, int ExpiresSeconds, bool IsActive, string? RemoteSubscriptionId, DateTime? SubscribedUntil,
        DateTime? ConnectedAt, DateTime? LastEventAt, string? LastError, int Version, DateTime CreatedAt, DateTime UpdatedAt)
    {
        public EidoCredentials? Open(FieldCipher cipher) => cipher.DecryptJson(Credentials, EncryptedColumns.EidoCredentials.Context) is { } json
            ? JsonSerializer.Deserialize<EidoCredentials>(json, Json) : null;

        public EidoSubscription ToView(FieldCipher cipher) => new(Id, AgencyId, Name, NotifierUrl, SubType, IncidentId, Open(cipher)?.Present ?? [],
            CommandConnectionId, EidoMapping.FromJson(Mapping), ExpiresSeconds, IsActive,
            new EidoSubscriptionState(RemoteSubscriptionId, Time.Utc(SubscribedUntil), Time.Utc(ConnectedAt), Time.Utc(LastEventAt), LastError),
            Version, Time.Utc(CreatedAt), Time.Utc(UpdatedAt));
    }
}
