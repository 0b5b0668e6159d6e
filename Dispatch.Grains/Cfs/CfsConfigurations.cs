using Dispatch.Grains.Storage;

namespace Dispatch.Grains.Cfs;

public sealed record CfsConfiguration(Guid Id, Guid AgencyId, string Name, string InboxPath, int PollIntervalSeconds, string FilePattern,
    string ParserClass, CfsMappings FieldMappings, bool IsActive, int Version,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public sealed record CfsConfigurationChanges(string Name, string InboxPath, int PollIntervalSeconds, string FilePattern, string ParserClass,
    CfsMappings FieldMappings, bool IsActive);

/// <summary>A PSAP's CAD inboxes: where exports land, which files to read, and how to map them.</summary>
public static class CfsConfigurations
{
    private const string Select = """
        select id, agency_id, name, inbox_path, poll_interval_seconds, file_pattern, parser_class, field_mappings::text as field_mappings,
               is_active, version, created_at, updated_at
        from cfs_configurations
        """;

    public static async Task<IReadOnlyList<CfsConfiguration>> ListAsync(StoreScope scope) =>
        (await scope.QueryAsync<Row>($"{Select} order by created_at")).Select(r => r.ToConfiguration()).ToList();

    public static async Task<CfsConfiguration?> GetAsync(StoreScope scope, Guid id) =>
        (await scope.QuerySingleOrDefaultAsync<Row>($"{Select} where id = @id", new { id }))?.ToConfiguration();

    public static async Task<CfsConfiguration> SaveAsync(AgencyScope scope, Guid? id, CfsConfigurationChanges c, DateTimeOffset now)
    {
        var before = id is null ? null : await GetAsync(scope, id.Value);
        var configurationId = id ?? Guid.CreateVersion7();
        await scope.ExecuteAsync("""
            insert into cfs_configurations (id, agency_id, name, inbox_path, poll_interval_seconds, file_pattern, parser_class, field_mappings,
                                            is_active, created_at, updated_at)
            values (@configurationId, @agency, @Name, @InboxPath, @PollIntervalSeconds, @FilePattern, @ParserClass, @mappings::jsonb, @IsActive, @now, @now)
            on conflict (id) do update set name = excluded.name, inbox_path = excluded.inbox_path,
                poll_interval_seconds = excluded.poll_interval_seconds, file_pattern = excluded.file_pattern, parser_class = excluded.parser_class,
                field_mappings = excluded.field_mappings, is_active = excluded.is_active, version = cfs_configurations.version + 1,
                updated_at = excluded.updated_at
            """, new
        {
            configurationId, agency = scope.Context.AgencyId, c.Name, c.InboxPath, c.PollIntervalSeconds, c.FilePattern, c.ParserClass,
            mappings = c.FieldMappings.ToJson(), c.IsActive, now,
        });
        var after = (await GetAsync(scope, configurationId))!;
        await scope.AuditAsync(before is null ? "cfs_configuration.created" : "cfs_configuration.updated", "cfs_configuration", configurationId, before, after);
        return after;
    }

    /// <summary>Where an agency's zone-less CAD times are local unless its mappings say otherwise: the agency's time zone (UTC if it names none).</summary>
    public static async Task<TimeZoneInfo> AgencyZoneAsync(StoreScope scope, Guid agencyId) =>
        Time.Zone(await scope.ExecuteScalarAsync<string?>("select timezone from agencies where id = @agencyId", new { agencyId })) ?? TimeZoneInfo.Utc;

    /// <summary>Whether another configuration, of any agency, has this inbox, one inside it or one around it.</summary>
    public static Task<bool> InboxTakenAsync(AgencyScope scope, string inboxPath, Guid? except) =>
        scope.ExecuteScalarAsync<bool>("select dispatch_cfs_inbox_taken(@inboxPath, @except)", new { inboxPath, except });

    private sealed record Row(Guid Id, Guid AgencyId, string Name, string InboxPath, int PollIntervalSeconds, string FilePattern, string ParserClass,
        string FieldMappings, bool IsActive, int Version, DateTime CreatedAt, DateTime UpdatedAt)
    {
        public CfsConfiguration ToConfiguration() => new(Id, AgencyId, Name, InboxPath, PollIntervalSeconds, FilePattern, ParserClass,
            CfsMappings.FromJson(FieldMappings), IsActive, Version, Time.Utc(CreatedAt), Time.Utc(UpdatedAt));
    }
}
