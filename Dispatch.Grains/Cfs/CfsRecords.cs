using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;

namespace Dispatch.Grains.Cfs;

/// <summary>A file read from an inbox; <see cref="WarningCount"/> counts what its records' mappings could not read (each call lists its own).</summary>
public sealed record CfsImportView(Guid Id, Guid CfsConfigurationId, string Filename, string FileHash, int RecordCount, int WarningCount, string Status,
    string? Error, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt);

/// <summary>
/// A call for service as received — from a CAD export (<see cref="Source"/> <c>cad</c>, with its configuration and import) or an
/// EIDO (<c>eido</c>, with its subscription) — with what could not be read (<see cref="Warnings"/>); the encrypted parts (its
/// narrative, extra fields and <see cref="RawXml"/> — the CAD's XML or the EIDO's JSON — decrypted) only in the single-record view.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record CfsIncidentView(Guid Id, string Source, Guid? CfsConfigurationId, Guid? EidoSubscriptionId, Guid? CfsImportId, string ExternalCfsId, string? CallNumber, string? CallerName,
    string? CallerPhone, string? Description, string? Address, string? CrossStreets, string? Priority, string? IncidentType, string? Nature, string? Status,
    DateTimeOffset? ReceivedAt, string? ReceivedAtText, double? Latitude, double? Longitude, IReadOnlyList<string> Units,
    IReadOnlyList<CfsNarrativeEntry>? Narrative, JsonObject? Extra, IReadOnlyList<string> Warnings, Guid? LinkedIncidentId, int Version,
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
            select id, cfs_configuration_id, filename, file_hash, record_count, warning_count, status, error, created_at, completed_at
            from cfs_imports {where} order by created_at desc, id offset @offset limit @limit
            """, new { status, configurationId, offset, limit });
        var total = await scope.ExecuteScalarAsync<long>($"select count(*) from cfs_imports {where}", new { status, configurationId });
        return (rows.Select(r => new CfsImportView(r.Id, r.CfsConfigurationId, r.Filename, r.FileHash, r.RecordCount, r.WarningCount, r.Status, r.Error,
            Time.Utc(r.CreatedAt), Time.Utc(r.CompletedAt))).ToList(), total);
    }

    private const string Columns = """
        id, source, cfs_configuration_id, eido_subscription_id, cfs_import_id, external_cfs_id, call_number, caller_name, caller_phone, description, address, cross_streets,
        priority, incident_type, nature, status, received_at, received_at_text, latitude, longitude, array_to_json(units)::text as units, warnings::text as warnings,
        linked_incident_id, version, created_at, updated_at
        """;

    private const string Sealed = "narrative::text as narrative, extra::text as extra, raw_xml";
    private const string Unsealed = "null::text as narrative, null::text as extra, null::bytea as raw_xml";

    public static async Task<(IReadOnlyList<CfsIncidentView> Items, long Total)> ListAsync(AgencyScope scope, bool? linked, Guid? configurationId,
        long offset, int limit, string? source = null, Guid? subscriptionId = null)
    {
        const string where = """
            where (@linked::boolean is null or (linked_incident_id is not null) = @linked)
              and (@configurationId::uuid is null or cfs_configuration_id = @configurationId)
              and (@subscriptionId::uuid is null or eido_subscription_id = @subscriptionId)
              and (@source::text is null or source = @source)
            """;
        var rows = await scope.QueryAsync<Row>($"select {Columns}, {Unsealed} from cfs_incidents {where} order by created_at desc, id offset @offset limit @limit",
            new { linked, configurationId, subscriptionId, source, offset, limit });
        var total = await scope.ExecuteScalarAsync<long>($"select count(*) from cfs_incidents {where}", new { linked, configurationId, subscriptionId, source });
        return (rows.Select(r => r.ToView(scope.Cipher)).ToList(), total);
    }

    public static async Task<CfsIncidentView?> GetAsync(AgencyScope scope, Guid id)
    {
        var row = await scope.QuerySingleOrDefaultAsync<Row>($"select {Columns}, {Sealed} from cfs_incidents where id = @id", new { id });
        return row?.ToView(scope.Cipher);
    }

    /// <summary>Links a call to an incident of this PSAP; null when either is not the PSAP's. Linking again to the same incident is harmless.</summary>
    public static async Task<CfsIncidentView?> LinkAsync(AgencyScope scope, Guid id, Guid incidentId, DateTimeOffset now)
    {
        var call = await scope.QuerySingleOrDefaultAsync<Row>($"select {Columns}, {Unsealed} from cfs_incidents where id = @id for update", new { id });
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
    public static Task<int> CountAssignableAsync(AgencyScope scope, IReadOnlyList<Guid> companyIds) => scope.ExecuteScalarAsync<int>(
        $"select count(*)::int from {Routing.Assignments.AssignableCompanies} where a.id = any(@ids)", new { ids = companyIds.ToArray() });

    private sealed record ImportRow(Guid Id, Guid CfsConfigurationId, string Filename, string FileHash, int RecordCount, int WarningCount, string Status, string? Error,
        DateTime CreatedAt, DateTime? CompletedAt);

    /// <summary>A narrative as stored: encrypted JSON, null when there is none.</summary>
    public static string? SealNarrative(FieldCipher cipher, IReadOnlyList<CfsNarrativeEntry> narrative) => narrative.Count == 0 ? null
        : cipher.EncryptJson(JsonSerializer.Serialize(narrative, Json), EncryptedColumns.CfsNarrative.Context);

    public static IReadOnlyList<CfsNarrativeEntry> OpenNarrative(FieldCipher cipher, string? sealedNarrative) =>
        cipher.DecryptJson(sealedNarrative, EncryptedColumns.CfsNarrative.Context) is { } json
            ? JsonSerializer.Deserialize<List<CfsNarrativeEntry>>(json, Json) ?? [] : [];

    /// <summary>Extra fields as stored: encrypted JSON, null when the mapping names none or none matched.</summary>
    public static string? SealExtra(FieldCipher cipher, IReadOnlyDictionary<string, object> extra) => extra.Count == 0 ? null
        : cipher.EncryptJson(JsonSerializer.Serialize(extra, Json), EncryptedColumns.CfsExtra.Context);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerOptions.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    private sealed record Row(Guid Id, string Source, Guid? CfsConfigurationId, Guid? EidoSubscriptionId, Guid? CfsImportId, string ExternalCfsId, string? CallNumber, string? CallerName,
        string? CallerPhone, string? Description, string? Address, string? CrossStreets, string? Priority, string? IncidentType, string? Nature,
        string? Status, DateTime? ReceivedAt, string? ReceivedAtText, double? Latitude, double? Longitude, string Units, string Warnings,
        Guid? LinkedIncidentId, int Version, DateTime CreatedAt, DateTime UpdatedAt, string? Narrative, string? Extra, byte[]? RawXml)
    {
        public CfsIncidentView ToView(FieldCipher cipher) => new(Id, Source, CfsConfigurationId, EidoSubscriptionId, CfsImportId, ExternalCfsId, CallNumber, CallerName, CallerPhone,
            Description, Address, CrossStreets, Priority, IncidentType, Nature, Status, Time.Utc(ReceivedAt), ReceivedAtText, Latitude, Longitude, JsonSerializer.Deserialize<string[]>(Units) ?? [],
            RawXml is null ? null : OpenNarrative(cipher, Narrative),
            RawXml is null ? null : cipher.DecryptJson(Extra, EncryptedColumns.CfsExtra.Context) is { } extra ? JsonNode.Parse(extra)!.AsObject() : new JsonObject(),
            JsonSerializer.Deserialize<List<string>>(Warnings) ?? [], LinkedIncidentId, Version, Time.Utc(CreatedAt), Time.Utc(UpdatedAt),
            cipher.DecryptText(RawXml, EncryptedColumns.CfsRawXml.Context));
    }
}
