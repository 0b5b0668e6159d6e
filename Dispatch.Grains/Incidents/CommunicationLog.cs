using System.Text.Json.Nodes;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;

namespace Dispatch.Grains.Incidents;

/// <summary>One entry of an incident's append-only log: a message sent or received, an acknowledgement, an escalation step, an alert.</summary>
public sealed record CommunicationView(Guid Id, Guid? NotificationId, Guid? DeliveryId, Guid AgencyId, string CommunicationType, string Direction,
    string? TransportTypeSlug, string? Content, JsonNode? Payload, string SenderType, Guid? SenderAgencyId, Guid? SenderUserId,
    string? ReceiverType, Guid? ReceiverAgencyId, Guid? ReceiverUserId, DateTimeOffset CreatedAt);

/// <summary>Reads an incident's communication log as the caller's agency: row-level security keeps a company to its own entries.</summary>
public static class CommunicationLog
{
    private const string Select = """
        select id, notification_id, delivery_id, agency_id, communication_type, direction, transport_type_slug, content,
               payload_snapshot::text as payload_snapshot, sender_type, sender_agency_id, sender_user_id, receiver_type, receiver_agency_id,
               receiver_user_id, created_at
        from incident_communications where incident_id = @incidentId
        order by created_at, id offset @offset limit @limit
        """;

    /// <summary>The page of entries, oldest first, with content decrypted; null when the caller cannot see the incident.</summary>
    public static async Task<(IReadOnlyList<CommunicationView> Items, long Total)?> ListAsync(AgencyScope scope, Guid incidentId, long offset, int limit)
    {
        if (!await scope.ExecuteScalarAsync<bool>("select exists (select 1 from incidents where id = @incidentId)", new { incidentId })) return null;
        var rows = await scope.QueryAsync<Row>(Select, new { incidentId, offset, limit });
        var total = await scope.ExecuteScalarAsync<long>("select count(*) from incident_communications where incident_id = @incidentId", new { incidentId });
        return (rows.Select(r => new CommunicationView(r.Id, r.NotificationId, r.DeliveryId, r.AgencyId, r.CommunicationType, r.Direction,
            r.TransportTypeSlug, scope.Cipher.DecryptText(r.Content, EncryptedColumns.CommunicationContent.Context), JsonNode.Parse(r.PayloadSnapshot),
            r.SenderType, r.SenderAgencyId, r.SenderUserId, r.ReceiverType, r.ReceiverAgencyId, r.ReceiverUserId, Time.Utc(r.CreatedAt))).ToList(), total);
    }

    private sealed record Row(Guid Id, Guid? NotificationId, Guid? DeliveryId, Guid AgencyId, string CommunicationType, string Direction,
        string? TransportTypeSlug, byte[]? Content, string PayloadSnapshot, string SenderType, Guid? SenderAgencyId, Guid? SenderUserId,
        string? ReceiverType, Guid? ReceiverAgencyId, Guid? ReceiverUserId, DateTime CreatedAt);
}

/// <summary>An entry for the append-only communication log; content is encrypted, the snapshot must hold no credentials.</summary>
public sealed record CommunicationEntry(
    Guid IncidentId, Guid AgencyId, string Type, string Direction, string? Content, object? Snapshot,
    Guid? NotificationId = null, Guid? DeliveryId = null, string? TransportSlug = null, string SenderType = "system",
    string? ReceiverType = null, Guid? ReceiverAgencyId = null, Guid? ReceiverUserId = null);

/// <summary>Writes the communication log (append-only: the database refuses updates and deletes), content encrypted.</summary>
internal static class Communications
{
    public static Task AppendAsync(StoreScope scope, CommunicationEntry e)
    {
        var statement = Statement(scope.Cipher, e);
        return scope.ExecuteAsync(statement.Sql, statement.Parameters);
    }

    private const string Columns = """
        incident_communications (incident_id, notification_id, delivery_id, agency_id, communication_type, direction,
            transport_type_slug, content, payload_snapshot, sender_type, receiver_type, receiver_agency_id, receiver_user_id)
        """;

    private const string Values = """
        @IncidentId, @NotificationId, @DeliveryId, @AgencyId, @Type, @Direction, @TransportSlug, @Content,
            @Snapshot::jsonb, @SenderType, @ReceiverType, @ReceiverAgencyId, @ReceiverUserId
        """;

    /// <summary>The entry as a statement, for a batch; its content encrypted here.</summary>
    public static BatchStatement Statement(FieldCipher cipher, CommunicationEntry e) => new($"insert into {Columns} values ({Values})", Parameters(cipher, e));

    /// <summary>The entry as a statement written only if <paramref name="condition"/> holds when it runs (over <paramref name="parameters"/> too).</summary>
    public static BatchStatement StatementIf(FieldCipher cipher, CommunicationEntry e, string condition, object parameters) =>
        new BatchStatement("", Parameters(cipher, e)).Over($"insert into {Columns} select {Values} where {condition}", parameters);

    /// <summary>
    /// <paramref name="statement"/>, a data-modifying statement returning <paramref name="columns"/>, with the entry written in the
    /// same statement for each row it returns (none when it changed nothing), and those rows still returned.
    /// </summary>
    public static BatchStatement InsertReturning(FieldCipher cipher, CommunicationEntry e, BatchStatement statement, string columns) =>
        new BatchStatement("", Parameters(cipher, e)).Over($"""
            with changed as ({statement.Sql}), logged as (insert into {Columns} select {Values} from changed)
            select {columns} from changed
            """, statement.Parameters ?? new { });

    private static object Parameters(FieldCipher cipher, CommunicationEntry e) => new
    {
        e.IncidentId, e.NotificationId, e.DeliveryId, e.AgencyId, e.Type, e.Direction, e.TransportSlug,
        Content = cipher.EncryptText(e.Content, EncryptedColumns.CommunicationContent.Context),
        Snapshot = AuditLog.Snapshot(e.Snapshot ?? new { }), e.SenderType, e.ReceiverType, e.ReceiverAgencyId, e.ReceiverUserId,
    };
}
