using Dispatch.Grains.Incidents;
using Dispatch.Grains.Routing;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;

namespace Dispatch.Grains.Cfs;

public sealed record CfsImportView(Guid Id, Guid CfsConfigurationId, string Filename, string FileHash, int RecordCount, string Status, string? Error,
    DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt);

/// <summary>A call for service as imported; <see cref="RawXml"/> (decrypted) only in the single-record view.</summary>
public sealed record CfsIncidentView(Guid Id, Guid CfsConfigurationId, Guid? CfsImportId, string ExternalCfsId, string? CallerName, string? CallerPhone,
    string? Description, string? Address, string? Priority, string? IncidentType, DateTimeOffset? ReceivedAt, Guid? LinkedIncidentId, int Version,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, string? RawXml);

/// <summary>The CAD link is refused: the record already belongs to another incident.</summary>
public sealed class AlreadyLinkedException(Guid incidentId) : Exception($"This call is already linked to incident {incidentId}.")
{
    public Guid IncidentId { get; } = incidentId;
}

/// <summary>What a PSAP sees of its imports and imported calls, and how a call becomes (part of) an incident.</summary>
public static class CfsRecords
{
    public static async Task<(IReadOnlyList<CfsImportView> Items, long Total)> ListImportsAsync(AgencyScope scope, string? status, Guid? configurationId,
        long offset, int limit)
    {
        const string where = "where (@status::text is null or status = @status) and (@configurationId::uuid is null or cfs_configuration_id = @configurationId)";
        var rows = await scope.QueryAsync<ImportRow>($"""
            select id, cfs_configuration_id, filename, file_hash, record_count, status, error, created_at, completed_at
            from cfs_imports {where} order by created_at desc, id offset @offset limit @limit
            """, new { status, configurationId, offset, limit });
        var total = await scope.ExecuteScalarAsync<long>($"select count(*) from cfs_imports {where}", new { status, configurationId });
        return (rows.Select(r => new CfsImportView(r.Id, r.CfsConfigurationId, r.Filename, r.FileHash, r.RecordCount, r.Status, r.Error,
            Time.Utc(r.CreatedAt), Time.Utc(r.CompletedAt))).ToList(), total);
    }

    private const string Columns = """
        id, cfs_configuration_id, cfs_import_id, external_cfs_id, caller_name, caller_phone, description, address, priority, incident_type,
        received_at, linked_incident_id, version, created_at, updated_at
        """;

    public static async Task<(IReadOnlyList<CfsIncidentView> Items, long Total)> ListAsync(AgencyScope scope, bool? linked, Guid? configurationId,
        long offset, int limit)
    {
        const string where = """
            where (@linked::boolean is null or (linked_incident_id is not null) = @linked)
              and (@configurationId::uuid is null or cfs_configuration_id = @configurationId)
            """;
        var rows = await scope.QueryAsync<Row>($"select {Columns}, null::bytea as raw_xml from cfs_incidents {where} order by created_at desc, id offset @offset limit @limit",
            new { linked, configurationId, offset, limit });
        var total = await scope.ExecuteScalarAsync<long>($"select count(*) from cfs_incidents {where}", new { linked, configurationId });
        return (rows.Select(r => r.ToView(null)).ToList(), total);
    }

    public static async Task<CfsIncidentView?> GetAsync(AgencyScope scope, Guid id)
    {
        var row = await scope.QuerySingleOrDefaultAsync<Row>($"select {Columns}, raw_xml from cfs_incidents where id = @id", new { id });
        return row?.ToView(scope.Cipher.DecryptText(row.RawXml, EncryptedColumns.CfsRawXml.Context));
    }

    /// <summary>Links a call to an incident of this PSAP; null when either is not the PSAP's. Linking again to the same incident is harmless.</summary>
    public static async Task<CfsIncidentView?> LinkAsync(AgencyScope scope, Guid id, Guid incidentId, DateTimeOffset now)
    {
        var call = await scope.QuerySingleOrDefaultAsync<Row>($"select {Columns}, null::bytea as raw_xml from cfs_incidents where id = @id for update", new { id });
        var incident = await IncidentStore.GetAsync(scope, incidentId);
        if (call is null || incident is null || incident.AgencyId != scope.Context.AgencyId) return null;
        if (call.LinkedIncidentId is { } linked)
        {
            if (linked != incidentId) throw new AlreadyLinkedException(linked);
            return await GetAsync(scope, id);
        }
        await scope.ExecuteAsync("update cfs_incidents set linked_incident_id = @incidentId, version = version + 1, updated_at = @now where id = @id",
            new { incidentId, now, id });
        await Communications.AppendAsync(scope, new CommunicationEntry(incidentId, scope.Context.AgencyId, "cfs_linked", "internal",
            $"CAD call {call.ExternalCfsId} linked: {call.Description} ({call.Address}); caller {call.CallerName} {call.CallerPhone}",
            new { cfs_incident_id = id, external_cfs_id = call.ExternalCfsId }, SenderType: scope.Context.UserId is null ? "system" : "user"));
        await scope.AuditAsync("cfs_incident.linked", "cfs_incident", id, null, new { incident_id = incidentId });
        return await GetAsync(scope, id);
    }

    /// <returns>How many of <paramref name="companyIds"/> are active companies the scope's PSAP works with.</returns>
    public static Task<int> CountAssignableAsync(AgencyScope scope, IReadOnlyList<Guid> companyIds) => scope.ExecuteScalarAsync<int>("""
        select count(*)::int from agencies a join agency_links l on l.company_agency_id = a.id and l.psap_agency_id = dispatch_agency_id()
        where a.id = any(@ids) and a.agency_type = 'company' and a.is_active
        """, new { ids = companyIds.ToArray() });

    private sealed record ImportRow(Guid Id, Guid CfsConfigurationId, string Filename, string FileHash, int RecordCount, string Status, string? Error,
        DateTime CreatedAt, DateTime? CompletedAt);

    private sealed record Row(Guid Id, Guid CfsConfigurationId, Guid? CfsImportId, string ExternalCfsId, string? CallerName, string? CallerPhone,
        string? Description, string? Address, string? Priority, string? IncidentType, DateTime? ReceivedAt, Guid? LinkedIncidentId, int Version,
        DateTime CreatedAt, DateTime UpdatedAt, byte[]? RawXml)
    {
        public CfsIncidentView ToView(string? raw) => new(Id, CfsConfigurationId, CfsImportId, ExternalCfsId, CallerName, CallerPhone, Description, Address,
            Priority, IncidentType, Time.Utc(ReceivedAt), LinkedIncidentId, Version, Time.Utc(CreatedAt), Time.Utc(UpdatedAt), raw);
    }
}
