using System.Security.Cryptography;
using Dispatch.Grains.Storage;
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

/// <summary>
/// Where a call came from — a CAD inbox's configuration (and the file's import) or an EIDO subscription (and the event) — which
/// is also the scope its identity is unique in.
/// </summary>
public sealed record CallOrigin(string Source, Guid Id, Guid EntryId)
{
    public const string CadSource = "cad";
    public const string EidoSource = "eido";

    public static CallOrigin Cad(Guid configurationId, Guid importId) => new(CadSource, configurationId, importId);

    public static CallOrigin Eido(Guid subscriptionId, Guid eventId) => new(EidoSource, subscriptionId, eventId);

    public string Column => Source == CadSource ? "cfs_configuration_id" : "eido_subscription_id";

    /// <summary>How a dispatcher names such a call: "CAD call CFS26-1", "NG9-1-1 incident urn:…".</summary>
    public string Label => Source == CadSource ? "CAD call" : "NG9-1-1 incident";

    /// <summary>The sender, as the communication log says it.</summary>
    public string Sender => Source == CadSource ? "CAD" : "The NG9-1-1 system";

    /// <summary>A communication log entry's content about <paramref name="callId"/>: the call, and the file import or EIDO event that brought it.</summary>
    public Dictionary<string, object?> About(Guid callId) => new()
    {
        ["cfs_incident_id"] = callId, [Source == CadSource ? "cfs_import_id" : "eido_event_id"] = EntryId,
    };
}

/// <summary>A new call to be raised as an incident: at this priority, assigned to these companies.</summary>
public sealed record CallRaise(string Priority, IReadOnlyList<Guid> Companies);

/// <summary>What storing a call did: its id, whether it updated a call already there, or was older than it (and left it as it was).</summary>
public sealed record CallUpsert(Guid Id, bool Updated, bool Stale);

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
        {
            var raise = configuration.Mappings.AutoCreate is { } auto && record.Priority is { } priority && auto.CompaniesFor(record.Type) is { Count: > 0 } companies
                ? new CallRaise(priority, companies) : null;
            if ((await CfsCalls.UpsertAsync(scope, CallOrigin.Cad(configuration.Id, importId), record, raise, null, now)).Updated) updated++;
        }
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

    private sealed record InboxRow(Guid Id, Guid AgencyId, string InboxPath, int PollIntervalSeconds, string FilePattern, string ParserClass,
        string FieldMappings)
    {
        public InboxConfiguration ToConfiguration() =>
            new(Id, AgencyId, InboxPath, PollIntervalSeconds, FilePattern, ParserClass, CfsMappings.FromJson(FieldMappings));
    }
}
