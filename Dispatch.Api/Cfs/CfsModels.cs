using Dispatch.Api.Http;
using Dispatch.Grains.Cfs;
using Dispatch.Grains.Incidents;

namespace Dispatch.Api.Cfs;

/// <summary>A CAD inbox: its folder (under the server's inbox root, existing and readable on this host, where the Silo runs), glob, parser and mappings.</summary>
public sealed record CfsConfigurationRequest(string? Name, string? InboxPath, int? PollIntervalSeconds, string? FilePattern, string? ParserClass,
    CfsMappings? FieldMappings, bool? IsActive)
{
    public Errors Validate()
    {
        var errors = new Errors()
            .Check(!string.IsNullOrWhiteSpace(Name) && Name.Length <= 200, "name", "name is required (at most 200 characters).")
            .Check(PollIntervalSeconds is null or (>= 1 and <= 86_400), "pollIntervalSeconds", "pollIntervalSeconds is between 1 and 86400.")
            .Check(FilePattern is null || (FilePattern.Length is > 0 and <= 64 && FilePattern.IndexOfAny(['/', '\\']) < 0 && FilePattern != ".."),
                "filePattern", "filePattern is a file-name glob such as *.xml (* and ? only, no folders).")
            .Check(ParserClass is null || CfsParsers.Find(ParserClass) is not null, "parserClass",
                $"parserClass is one of: {string.Join(", ", CfsParsers.Names)}.")
            .Check(FieldMappings is not null, "fieldMappings", "fieldMappings is required.");
        foreach (var (field, message) in FieldMappings?.Validate() ?? []) errors.Add(field, message);
        return errors;
    }

    public CfsConfigurationChanges ToChanges(string inboxPath) => new(Name!.Trim(), inboxPath, PollIntervalSeconds ?? 10,
        FilePattern ?? "*.xml", ParserClass ?? GenericXmlParser.ParserName, FieldMappings!, IsActive ?? true);
}

/// <summary>What a sample file would import with a configuration: its records, or why the whole file would fail.</summary>
public sealed record DryRunResult(bool WouldImport, string? Error, int RecordCount, IReadOnlyList<DryRunRecord> Records);

/// <summary>A record as it would be stored, whether it would update a call already imported, and what the mapping could not read.</summary>
public sealed record DryRunRecord(string ExternalId, string? CallerName, string? CallerPhone, string? Description, string? Address, string? Priority,
    string? Type, DateTimeOffset? ReceivedAt, bool UpdatesExisting, IReadOnlyList<string> Warnings);

/// <summary>Link a call to an existing incident (<c>incidentId</c>), or raise one from it (priority defaults to the mapped one).</summary>
public sealed record CfsLinkRequest(Guid? IncidentId, string? Priority, string? Title, IReadOnlyList<Guid>? AgencyIds)
{
    public Errors Validate() => new Errors()
        .Check(IncidentId is null || (Priority is null && Title is null && AgencyIds is null), "incidentId",
            "Either link to incidentId, or give priority, title and agencyIds to raise a new incident; not both.")
        .Check(Priority is null || IncidentPriority.IsValid(Priority), "priority", "priority is one of irod, critical, dangerous, routine_special.")
        .Check(Title is null || (Title.Trim().Length is > 0 and <= 200), "title", "title is 1 to 200 characters.");
}

public sealed record CfsLinkResult(Guid IncidentId, CfsIncidentView Call);
