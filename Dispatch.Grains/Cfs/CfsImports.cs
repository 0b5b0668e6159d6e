using System.Security.Cryptography;
using System.Text.Json;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Routing;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;
using Npgsql;

namespace Dispatch.Grains.Cfs;

public static class CfsImportStatus
{
    public const string Imported = "imported";
    public const string Duplicate = "duplicate";
    public const string Failed = "failed";
}

/// <summary>What became of one file.</summary>
public sealed record CfsImportOutcome(Guid ImportId, string Status, int RecordCount, int Updated, string? Error, int WarningCount = 0);

/// <summary>An active configuration, with what scanning its inbox needs.</summary>
public sealed record InboxConfiguration(Guid Id, Guid AgencyId, string InboxPath, int PollIntervalSeconds, string FilePattern, string ParserClass,
    CfsMappings Mappings);

/// <summary>
/// Importing CAD files, in the Silo. A file's content (SHA-256) is imported once per configuration: the import row, every
/// record (upserted by external id) and the history of CAD updates commit in one transaction, and a unique index refuses a
/// second import of the same content even from another Silo. Moving the file comes after the commit; a crash in between
/// leaves the file in the inbox, where its next reading is recorded as a duplicate and moved on.
/// </summary>
internal static class CfsImports
{
    public static string Hash(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    private const string SelectInbox = """
        select id, agency_id, inbox_path, poll_interval_seconds, file_pattern, parser_class, field_mappings::text as field_mappings
        from cfs_configurations where is_active
        """;

    /// <summary>The configuration, while it is active; null once it is deactivated or gone.</summary>
    public static async Task<InboxConfiguration?> ActiveAsync(EngineScope scope, Guid id) =>
        (await scope.QuerySingleOrDefaultAsync<InboxRow>($"{SelectInbox} and id = @id", new { id }))?.ToConfiguration();

    /// <summary>Every active configuration's id: the inboxes that should be being scanned.</summary>
    public static Task<IEnumerable<Guid>> ActiveIdsAsync(EngineScope scope) =>
        scope.QueryAsync<Guid>("select id from cfs_configurations where is_active");

    /// <summary>
    /// Parses and records one file in this transaction, which runs as the configuration's PSAP (row-level security applies).
    /// Throws <see cref="PostgresException"/> 23505 if another import of the same content committed meanwhile.
    /// </summary>
    public static async Task<CfsImportOutcome> ImportAsync(AgencyScope scope, InboxConfiguration configuration, string filename, byte[] content,
        DateTimeOffset now)
    {
        var hash = Hash(content);
        var importId = Guid.CreateVersion7();
        if (await scope.ExecuteScalarAsync<bool>("""
                select exists (select 1 from cfs_imports where cfs_configuration_id = @Id and file_hash = @hash and status = 'imported')
                """, new { configuration.Id, hash }))
            return await RecordAsync(scope, importId, configuration.Id, filename, hash, CfsImportStatus.Duplicate, 0, null, now);

        IReadOnlyList<CfsRecord> records;
        try
        {
            if (configuration.Mappings.SizeError(content.LongLength) is { } tooLarge) throw new CfsFileException(tooLarge);
            using var stream = new MemoryStream(content, writable: false);
            records = CfsParsers.Parse(configuration.ParserClass, stream, configuration.Mappings,
                await CfsConfigurations.AgencyZoneAsync(scope, configuration.AgencyId));
        }
        catch (CfsFileException e)
        {
            return await RecordAsync(scope, importId, configuration.Id, filename, hash, CfsImportStatus.Failed, 0, e.Message, now);
        }

        var warnings = records.Sum(r => r.Warnings.Count);
        await RecordAsync(scope, importId, configuration.Id, filename, hash, CfsImportStatus.Imported, records.Count, null, now, warnings);
        var updated = 0;
        foreach (var record in records)
            if (await UpsertAsync(scope, configuration, importId, record, now)) updated++;
        return new CfsImportOutcome(importId, CfsImportStatus.Imported, records.Count, updated, null, warnings);
    }

    /// <summary>Records a file that is too large to read at all, without reading it.</summary>
    public static Task<CfsImportOutcome> RejectAsync(AgencyScope scope, InboxConfiguration configuration, string filename, string hash, string error,
        DateTimeOffset now) =>
        RecordAsync(scope, Guid.CreateVersion7(), configuration.Id, filename, hash, CfsImportStatus.Failed, 0, error, now);

    private static async Task<CfsImportOutcome> RecordAsync(AgencyScope scope, Guid id, Guid configurationId, string filename, string hash, string status,
        int count, string? error, DateTimeOffset now, int warnings = 0)
    {
        await scope.ExecuteAsync("""
            insert into cfs_imports (id, cfs_configuration_id, filename, file_hash, record_count, warning_count, status, error, created_at, completed_at)
            values (@id, @configurationId, @filename, @hash, @count, @warnings, @status, @error, @now, @now)
            """, new { id, configurationId, filename, hash, count, warnings, status, error, now });
        return new CfsImportOutcome(id, status, count, 0, error);
    }

    // Every column an import writes, and the parameter each takes; received_at keeps its value when a re-export omits it.
    private static readonly (string Column, string Value)[] Written =
    [
        ("cfs_import_id", "@importId"), ("call_number", "@CallNumber"), ("caller_name", "@CallerName"), ("caller_phone", "@CallerPhone"),
        ("description", "@Description"), ("address", "@Address"), ("cross_streets", "@CrossStreets"), ("raw_xml", "@raw"), ("priority", "@Priority"),
        ("incident_type", "@Type"), ("nature", "@Nature"), ("status", "@Status"), ("received_at", "@ReceivedAt"), ("received_at_text", "@ReceivedAtText"),
        ("latitude", "@Latitude"), ("longitude", "@Longitude"), ("units", "@units"), ("narrative", "@narrative::jsonb"), ("extra", "@extra::jsonb"),
        ("warnings", "@warnings::jsonb"), ("updated_at", "@now"),
    ];

    private static readonly string Insert = $"""
        insert into cfs_incidents (id, cfs_configuration_id, external_cfs_id, created_at, {string.Join(", ", Written.Select(w => w.Column))})
        values (@id, @configurationId, @ExternalId, @now, {string.Join(", ", Written.Select(w => w.Value))})
        """;

    private static readonly string Update = $"""
        update cfs_incidents set version = version + 1, {string.Join(", ", Written.Select(w => w.Column is "received_at" or "received_at_text"
            ? $"{w.Column} = coalesce({w.Value}, {w.Column})" : $"{w.Column} = {w.Value}"))}
        where id = @id
        """;

    /// <summary>
    /// Inserts a new call, or updates the one with the same external id. A linked incident keeps every change in its history; a
    /// new address or priority also changes the incident and tells everyone notified of it.
    /// </summary>
    private static async Task<bool> UpsertAsync(AgencyScope scope, InboxConfiguration configuration, Guid importId, CfsRecord r, DateTimeOffset now)
    {
        var existing = await scope.QuerySingleOrDefaultAsync<ExistingRow>("""
            select id, call_number, caller_name, caller_phone, description, address, cross_streets, priority, incident_type, nature, status,
                   latitude, longitude, array_to_json(units)::text as units, narrative::text as narrative, linked_incident_id
            from cfs_incidents where cfs_configuration_id = @Id and external_cfs_id = @ExternalId for update
            """, new { configuration.Id, r.ExternalId });
        var id = existing?.Id ?? Guid.CreateVersion7();
        var values = new
        {
            id, configurationId = configuration.Id, importId, r.ExternalId, r.CallNumber, r.CallerName, r.CallerPhone, r.Description, r.Address,
            r.CrossStreets, raw = scope.Cipher.EncryptText(r.RawXml, EncryptedColumns.CfsRawXml.Context), r.Priority, r.Type, r.Nature, r.Status,
            r.ReceivedAt, r.ReceivedAtText, r.Latitude, r.Longitude, units = r.Units.ToArray(),
            narrative = CfsRecords.SealNarrative(scope.Cipher, r.Narrative), extra = CfsRecords.SealExtra(scope.Cipher, r.Extra),
            warnings = JsonSerializer.Serialize(r.Warnings), now,
        };
        if (existing is null)
        {
            await scope.ExecuteAsync(Insert, values);
            await AutoCreateAsync(scope, configuration, id, r, now);
            return false;
        }

        await scope.ExecuteAsync(Update, values);
        if (existing.LinkedIncidentId is { } incidentId)
            await CfsUpdates.RecordAsync(scope, incidentId, existing.ToRecord(scope.Cipher), r, existing.Id, importId, now);
        return true;
    }

    /// <summary>A new call the mappings say to raise at once: an incident, its companies notified, the call linked — all in the import's transaction.</summary>
    private static async Task AutoCreateAsync(AgencyScope scope, InboxConfiguration configuration, Guid callId, CfsRecord r, DateTimeOffset now)
    {
        if (configuration.Mappings.AutoCreate is not { } auto || r.Priority is null) return;
        var companies = auto.CompaniesFor(r.Type);
        if (companies.Count == 0) return;
        var incident = await Incidents.IncidentStore.CreateAsync(scope, Guid.CreateVersion7(), new Incidents.NewIncident(r.Priority,
            (r.Nature ?? r.Type) is { } what ? $"{what} (CAD call {r.ExternalId})" : $"CAD call {r.ExternalId}", r.Description ?? "", r.Address, r.Type), now);
        foreach (var company in companies)
        {
            try
            {
                await Assignments.AssignAsync(scope, incident, company, now, null);
            }
            catch (NotAssignableException)
            {
                // A company unlinked or deactivated since the mapping was written: the PSAP sees it on the incident.
                await Communications.AppendAsync(scope, new CommunicationEntry(incident.Id, scope.Context.AgencyId, "auto_assign_failed", "internal",
                    $"Company {company} from the CAD mapping could not be assigned: it is not an active company this PSAP works with.",
                    new { company_id = company, cfs_incident_id = callId }));
            }
        }
        await CfsRecords.LinkAsync(scope, callId, incident.Id, now);
    }

    private sealed record InboxRow(Guid Id, Guid AgencyId, string InboxPath, int PollIntervalSeconds, string FilePattern, string ParserClass,
        string FieldMappings)
    {
        public InboxConfiguration ToConfiguration() =>
            new(Id, AgencyId, InboxPath, PollIntervalSeconds, FilePattern, ParserClass, CfsMappings.FromJson(FieldMappings));
    }

    private sealed record ExistingRow(Guid Id, string? CallNumber, string? CallerName, string? CallerPhone, string? Description, string? Address,
        string? CrossStreets, string? Priority, string? IncidentType, string? Nature, string? Status, double? Latitude, double? Longitude,
        string Units, string? Narrative, Guid? LinkedIncidentId)
    {
        /// <summary>The call as it stood before this import, in the parser's terms, for comparison.</summary>
        public CfsRecord ToRecord(FieldCipher cipher) => new()
        {
            ExternalId = "", RawXml = "", CallNumber = CallNumber, CallerName = CallerName, CallerPhone = CallerPhone, Description = Description,
            Address = Address, CrossStreets = CrossStreets, Priority = Priority, Type = IncidentType, Nature = Nature, Status = Status,
            Latitude = Latitude, Longitude = Longitude, Units = JsonSerializer.Deserialize<string[]>(Units) ?? [], Narrative = CfsRecords.OpenNarrative(cipher, Narrative),
        };
    }
}
