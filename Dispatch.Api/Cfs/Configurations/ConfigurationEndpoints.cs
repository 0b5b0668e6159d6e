using System.Text.Json;
using Dispatch.Grains.Cfs;
using FastEndpoints;
using FluentValidation;

namespace Dispatch.Api.Cfs.Configurations;

/// <summary>A CAD inbox: its folder (under the server's inbox root, existing and readable on this host, where the Silo runs), glob, parser and mappings.</summary>
public class CfsConfigurationRequest
{
    public string? Name { get; set; }
    public string? InboxPath { get; set; }
    public int? PollIntervalSeconds { get; set; }
    public string? FilePattern { get; set; }
    public string? ParserClass { get; set; }
    public CfsMappings? FieldMappings { get; set; }
    public bool? IsActive { get; set; }

    public CfsConfigurationChanges ToChanges(string inboxPath) => new(Name!.Trim(), inboxPath, PollIntervalSeconds ?? 10,
        FilePattern ?? "*.xml", ParserClass ?? GenericXmlParser.ParserName, FieldMappings!, IsActive ?? true);
}

public sealed class UpdateCfsConfigurationRequest : CfsConfigurationRequest
{
    public Guid Id { get; set; }
}

public sealed class CfsConfigurationRules : AbstractValidator<CfsConfigurationRequest>
{
    public CfsConfigurationRules()
    {
        RuleFor(r => r.Name).Must(n => !string.IsNullOrWhiteSpace(n) && n.Length <= 200).WithMessage("name is required (at most 200 characters).");
        RuleFor(r => r.PollIntervalSeconds).Must(s => s is null or (>= 1 and <= 86_400)).WithMessage("pollIntervalSeconds is between 1 and 86400.");
        RuleFor(r => r.FilePattern).Must(p => p is null || (p.Length is > 0 and <= 64 && p.IndexOfAny(['/', '\\']) < 0 && p != ".."))
            .WithMessage("filePattern is a file-name glob such as *.xml (* and ? only, no folders).");
        RuleFor(r => r.ParserClass).Must(p => p is null || CfsParsers.Find(p) is not null)
            .WithMessage($"parserClass is one of: {string.Join(", ", CfsParsers.Names)}.");
        RuleFor(r => r.FieldMappings).NotNull().WithMessage("fieldMappings is required.");
        // The mapping language names its own wrong fields (fieldMappings.fields.externalId, …).
        RuleFor(r => r.FieldMappings).Custom((mappings, context) =>
        {
            foreach (var (field, message) in mappings?.Validate() ?? []) context.AddFailure(field, message);
        });
    }
}

public sealed class CreateCfsConfigurationValidator : Validator<CfsConfigurationRequest>
{
    public CreateCfsConfigurationValidator() => Include(new CfsConfigurationRules());
}

public sealed class UpdateCfsConfigurationValidator : Validator<UpdateCfsConfigurationRequest>
{
    public UpdateCfsConfigurationValidator() => Include(new CfsConfigurationRules());
}

internal static class InboxChecks
{
    /// <summary>
    /// The inbox's resolved path, or every field error at once: the request's own, an inbox under the root that no other configuration
    /// (of any agency) uses, contains or lies in; then automatic creation naming only active companies the PSAP works with.
    /// </summary>
    public static async Task<(string? Inbox, ValidationProblem? Problem)> ValidateAsync(AgencyScope scope, Guid? id, CfsConfigurationRequest request,
        CfsInboxRoot inboxes, Dictionary<string, string[]> errors)
    {
        var (inbox, inboxError) = inboxes.Resolve(request.InboxPath);
        if (inboxError is not null) errors["inboxPath"] = [inboxError];
        else if (await CfsConfigurations.InboxTakenAsync(scope, inbox!, id))
            errors["inboxPath"] = ["inboxPath is already another configuration's inbox, or lies inside or around one; each inbox belongs to one configuration."];
        if (errors.Count > 0) return (null, TypedResults.ValidationProblem(errors));
        var companies = request.FieldMappings!.AutoCreateCompanies;
        return companies.Count == 0 || await CfsRecords.CountAssignableAsync(scope, companies) == companies.Count ? (inbox, null)
            : (null, Problems.Field("fieldMappings.autoCreate.companiesByType", "Every company must be an active company this PSAP works with."));
    }
}

public sealed class ListCfsConfigurations(DispatchStore store) : Endpoint<PageRequest, Ok<Page<CfsConfiguration>>>
{
    public override void Configure()
    {
        Get("/");
        Group<ConfigurationsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CfsRead));
        Description(d => d.WithName("ListCfsConfigurations").WithSummary("The PSAP's CAD inboxes."));
    }

    public override async Task<Ok<Page<CfsConfiguration>>> ExecuteAsync(PageRequest request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        return TypedResults.Ok(request.ToPaging().Of(await CfsConfigurations.ListAsync(scope)));
    }
}

public sealed class GetCfsConfiguration(DispatchStore store) : Endpoint<IdRoute, Results<Ok<CfsConfiguration>, NotFound>>
{
    public override void Configure()
    {
        Get("/{id:guid}");
        Group<ConfigurationsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CfsRead));
        Description(d => d.WithName("GetCfsConfiguration").WithSummary("One CAD inbox."));
    }

    public override async Task<Results<Ok<CfsConfiguration>, NotFound>> ExecuteAsync(IdRoute request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        return await CfsConfigurations.GetAsync(scope, request.Id) is { } c ? TypedResults.Ok(c) : TypedResults.NotFound();
    }
}

public sealed class CreateCfsConfiguration(DispatchStore store, TimeProvider time, CfsInboxRoot inboxes, InboxScanners scanners)
    : Endpoint<CfsConfigurationRequest, Results<Created<CfsConfiguration>, ValidationProblem>>
{
    public override void Configure()
    {
        Post("/");
        Group<ConfigurationsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CfsManage));
        Description(d => d.WithName("CreateCfsConfiguration")
            .WithSummary("Add a CAD inbox: folder, glob, parser and field mappings; the Silo starts scanning it at once."));
        DontThrowIfValidationFails(); // the inbox's own errors are told beside the request's
    }

    public override async Task<Results<Created<CfsConfiguration>, ValidationProblem>> ExecuteAsync(CfsConfigurationRequest request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        var (inbox, invalid) = await InboxChecks.ValidateAsync(scope, null, request, inboxes, FastEndpointsSetup.Fields(ValidationFailures));
        if (invalid is not null) return invalid;
        var saved = await CfsConfigurations.SaveAsync(scope, null, request.ToChanges(inbox!), time.GetUtcNow());
        await scope.CommitAsync();
        await scanners.TellAsync(saved.Id);
        return TypedResults.Created($"/api/v1/cfs-configurations/{saved.Id}", saved);
    }
}

public sealed class UpdateCfsConfiguration(DispatchStore store, TimeProvider time, CfsInboxRoot inboxes, InboxScanners scanners)
    : Endpoint<UpdateCfsConfigurationRequest, Results<Ok<CfsConfiguration>, NotFound, ValidationProblem>>
{
    public override void Configure()
    {
        Put("/{id:guid}");
        Group<ConfigurationsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CfsManage));
        Description(d => d.WithName("UpdateCfsConfiguration").WithSummary("Replace a CAD inbox's settings."));
        DontThrowIfValidationFails(); // another agency's inbox is not found, whatever the body says
    }

    public override async Task<Results<Ok<CfsConfiguration>, NotFound, ValidationProblem>> ExecuteAsync(UpdateCfsConfigurationRequest request,
        CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        if (await CfsConfigurations.GetAsync(scope, request.Id) is null) return TypedResults.NotFound();
        var (inbox, invalid) = await InboxChecks.ValidateAsync(scope, request.Id, request, inboxes, FastEndpointsSetup.Fields(ValidationFailures));
        if (invalid is not null) return invalid;
        var saved = await CfsConfigurations.SaveAsync(scope, request.Id, request.ToChanges(inbox!), time.GetUtcNow());
        await scope.CommitAsync();
        await scanners.TellAsync(saved.Id);
        return TypedResults.Ok(saved);
    }
}

public sealed class DeactivateCfsConfiguration(DispatchStore store, TimeProvider time, InboxScanners scanners) : Endpoint<IdRoute, Results<Ok<CfsConfiguration>, NotFound>>
{
    public override void Configure()
    {
        Delete("/{id:guid}");
        Group<ConfigurationsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CfsManage));
        Description(d => d.WithName("DeactivateCfsConfiguration").WithSummary("Stop scanning a CAD inbox (its imports stay)."));
    }

    public override async Task<Results<Ok<CfsConfiguration>, NotFound>> ExecuteAsync(IdRoute request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        if (await CfsConfigurations.GetAsync(scope, request.Id) is not { } c) return TypedResults.NotFound();
        var saved = await CfsConfigurations.SaveAsync(scope, request.Id,
            new CfsConfigurationChanges(c.Name, c.InboxPath, c.PollIntervalSeconds, c.FilePattern, c.ParserClass, c.FieldMappings, false), time.GetUtcNow());
        await scope.CommitAsync();
        await scanners.TellAsync(saved.Id);
        return TypedResults.Ok(saved);
    }
}

/// <summary>
/// Tells a configuration's inbox grain that its configuration changed (it starts, rescans with the new settings, or stops), after
/// the change committed. Not reaching it (no silo right now) loses nothing: the silos' sweep starts every active inbox.
/// </summary>
public sealed class InboxScanners(IClusterClient grains, ILogger<InboxScanners> logger)
{
    public async Task TellAsync(Guid configurationId)
    {
        try
        {
            await grains.GetGrain<ICfsInboxGrain>(configurationId).EnsureScanningAsync();
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException or InvalidOperationException)
        {
            logger.LogWarning("The inbox of CFS configuration {ConfigurationId} was not told of its change ({Error}); the silos' sweep will start it",
                configurationId, ex.Message);
        }
    }
}

/// <summary>What a sample file would import with a mapping: its records, or why the whole file would fail; zone-less times were read in <see cref="TimeZone"/>.</summary>
public sealed record DryRunResult(bool WouldImport, string? Error, int RecordCount, int WarningCount, string TimeZone, IReadOnlyList<DryRunRecord> Records)
{
    public static DryRunResult Failed(string error, TimeZoneInfo zone) => new(false, error, 0, 0, zone.Id, []);

    public static DryRunResult Of(IReadOnlyList<CfsRecord> records, TimeZoneInfo zone, IReadOnlySet<string> existing) =>
        new(true, null, records.Count, records.Sum(r => r.Warnings.Count), zone.Id,
            records.Select(r => DryRunRecord.From(r, existing.Contains(r.ExternalId))).ToList());
}

/// <summary>
/// A record as it would be stored, whether it would update a call already imported, and every warning about what the mapping could
/// not read; times show the text the CAD wrote beside the instant it became.
/// </summary>
public sealed record DryRunRecord(string ExternalId, string? CallNumber, string? CallerName, string? CallerPhone, string? Description, string? Address,
    string? CrossStreets, string? Priority, string? Type, string? Nature, string? Status, DateTimeOffset? ReceivedAt, string? ReceivedAtText,
    double? Latitude, double? Longitude, IReadOnlyList<string> Units, IReadOnlyList<CfsNarrativeEntry> Narrative, IReadOnlyDictionary<string, object> Extra,
    bool UpdatesExisting, IReadOnlyList<string> Warnings)
{
    public static DryRunRecord From(CfsRecord r, bool updatesExisting) => new(r.ExternalId, r.CallNumber, r.CallerName, r.CallerPhone, r.Description,
        r.Address, r.CrossStreets, r.Priority, r.Type, r.Nature, r.Status, r.ReceivedAt, r.ReceivedAtText, r.Latitude, r.Longitude, r.Units, r.Narrative,
        r.Extra, updatesExisting, r.Warnings);
}

/// <summary>A sample file sent as the raw request body (any content type), read up to a limit.</summary>
internal static class Samples
{
    public static Task<(MemoryStream? Body, ValidationProblem? Problem)> ReadAsync(HttpRequest request, long limit, CancellationToken ct) =>
        RequestBodies.ReadAsync(request, limit, "file", $"The sample is over the limit of {limit} bytes (maxFileBytes).",
            "Send the sample file as the request body.", ct);

    /// <summary>Parses a sample with a mapping, and says which of its records would update a call already imported by <paramref name="configurationId"/>.</summary>
    public static async Task<DryRunResult> DryRunAsync(AgencyScope scope, Guid? configurationId, string parserClass, CfsMappings mappings, Stream sample)
    {
        var zone = mappings.ZoneOr(await CfsConfigurations.AgencyZoneAsync(scope, scope.Context.AgencyId));
        IReadOnlyList<CfsRecord> records;
        try
        {
            records = CfsParsers.Parse(parserClass, sample, mappings, zone);
        }
        catch (CfsFileException e)
        {
            return DryRunResult.Failed(e.Message, zone);
        }
        var existing = configurationId is null ? [] : (await scope.QueryAsync<string>(
            "select external_cfs_id from cfs_incidents where cfs_configuration_id = @configurationId and external_cfs_id = any(@ids)",
            new { configurationId, ids = records.Select(r => r.ExternalId).ToArray() })).ToHashSet();
        return DryRunResult.Of(records, zone, existing);
    }
}

/// <summary>The sample file is the raw request body (any content type), so there is no request object to bind.</summary>
public sealed class DryRunCfsConfiguration(DispatchStore store) : EndpointWithoutRequest<Results<Ok<DryRunResult>, NotFound, ValidationProblem>>
{
    public override void Configure()
    {
        Post("/{id:guid}/dry-run");
        Group<ConfigurationsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CfsManage).WithMetadata(new FileBody("A sample CAD file, as the inbox would receive it.")));
        Description(d => d.WithName("DryRunCfsConfiguration")
            .WithSummary("Parse a sample file (the request body) with this configuration and show what would be imported, with every warning; nothing is stored."));
    }

    public override async Task<Results<Ok<DryRunResult>, NotFound, ValidationProblem>> ExecuteAsync(CancellationToken ct)
    {
        var id = Route<Guid>("id");
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        if (await CfsConfigurations.GetAsync(scope, id) is not { } configuration) return TypedResults.NotFound();
        var (sample, problem) = await Samples.ReadAsync(HttpContext.Request, configuration.FieldMappings.FileLimit, ct);
        if (problem is not null) return problem;
        using (sample)
            return TypedResults.Ok(await Samples.DryRunAsync(scope, id, configuration.ParserClass, configuration.FieldMappings, sample!));
    }
}

/// <summary>A proposed mapping (when none was sent), and what the sample would import with the mapping sent or proposed.</summary>
public sealed record ProposalResult(CfsMappingProposal? Proposal, DryRunResult? DryRun);

/// <summary>
/// A dry run without a configuration. The sample alone (the raw request body): a mapping is proposed from it, and the sample is
/// dry-run with the proposal. Or a form (<c>multipart/form-data</c>) with the sample as <c>file</c> and, optionally, a mapping as
/// <c>fieldMappings</c> (JSON, as a configuration holds it): the sample is dry-run with that mapping — a proposal edited before it
/// is saved.
/// </summary>
public sealed class ProposeCfsMapping(DispatchStore store) : EndpointWithoutRequest<Results<Ok<ProposalResult>, ValidationProblem>>
{
    public override void Configure()
    {
        Post("/dry-run");
        Group<ConfigurationsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CfsManage)
            .WithMetadata(new FileBody("A sample CAD file; or a form with the sample as file and a mapping (JSON) as fieldMappings.", "fieldMappings")));
        Description(d => d.WithName("ProposeCfsMapping")
            .WithSummary("Propose field mappings from a sample file (the request body): the record element and candidate paths per target field, "
                + "found by name and value shape, with a dry run of the proposal; or, as a form with file and fieldMappings, dry-run an edited mapping. "
                + "Nothing is stored."));
    }

    public override async Task<Results<Ok<ProposalResult>, ValidationProblem>> ExecuteAsync(CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        CfsMappings? mappings = null;
        MemoryStream? sample;
        if (HttpContext.Request.HasFormContentType)
        {
            IFormCollection form;
            try
            {
                form = await HttpContext.Request.ReadFormAsync(ct);
            }
            catch (InvalidDataException e) // a malformed multipart body, or one over the form limits
            {
                return Problems.Field("file", $"The form could not be read: {e.Message}");
            }
            if (form["fieldMappings"] is [{ } json] && !string.IsNullOrWhiteSpace(json))
            {
                try
                {
                    mappings = CfsMappings.FromJson(json);
                }
                catch (JsonException e)
                {
                    return Problems.Field("fieldMappings", $"fieldMappings is not a mapping: {e.Message}");
                }
                if (mappings.Validate() is { Count: > 0 } errors)
                    return TypedResults.ValidationProblem(errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray()));
            }
            if (form.Files.GetFile("file") is not { } file) return Problems.Field("file", "Send the sample file as the form's file.");
            var limit = mappings?.FileLimit ?? CfsMappings.DefaultMaxFileBytes;
            if (file.Length > limit) return Problems.Field("file", $"The sample is over the limit of {limit} bytes (maxFileBytes).");
            sample = new MemoryStream();
            await file.CopyToAsync(sample, ct);
            sample.Position = 0;
        }
        else
        {
            (sample, var problem) = await Samples.ReadAsync(HttpContext.Request, CfsMappings.DefaultMaxFileBytes, ct);
            if (problem is not null) return problem;
        }
        using (sample)
        {
            if (mappings is not null)
                return TypedResults.Ok(new ProposalResult(null, await Samples.DryRunAsync(scope, null, GenericXmlParser.ParserName, mappings, sample!)));
            CfsMappingProposal proposal;
            try
            {
                proposal = CfsMappingProposer.Propose(sample!, CfsMappings.DefaultMaxFileBytes);
            }
            catch (CfsFileException e)
            {
                return Problems.Field("file", e.Message);
            }
            if (!proposal.Mappings.Fields.ContainsKey("externalId")) return TypedResults.Ok(new ProposalResult(proposal, null));
            sample!.Position = 0;
            return TypedResults.Ok(new ProposalResult(proposal,
                await Samples.DryRunAsync(scope, null, GenericXmlParser.ParserName, proposal.Mappings, sample)));
        }
    }
}
