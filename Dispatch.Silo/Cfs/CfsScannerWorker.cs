using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using Dispatch.Grains.Cfs;
using Dispatch.Grains.Storage;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Dispatch.Silo.Cfs;

public sealed class CfsScannerOptions
{
    public const string Section = "Dispatch:Cfs";

    /// <summary>How often the scanner renews its leases and looks for configurations due a scan.</summary>
    public TimeSpan Tick { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a lease lasts: a Silo that dies gives its configurations up after this.</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// Scans CAD inboxes. One Silo at a time holds each configuration (a lease in <c>cfs_configurations</c> that expires if
/// its holder dies). A file is read only once it is complete — its size and modification time unchanged since the
/// previous scan, or, when the mappings name a <c>markerSuffix</c>, once its marker file exists — then imported in one
/// transaction and moved to <c>processed/</c> or, with a <c>.reason.txt</c> beside it, to <c>failed/</c>.
/// </summary>
public sealed class CfsScannerWorker(DispatchStore store, IOptions<CfsScannerOptions> options, CfsInboxRoot inboxes, TimeProvider time,
    ILogger<CfsScannerWorker> logger)
    : BackgroundService
{
    public const string Module = "cfs";
    public const string ProcessedFolder = "processed";
    public const string FailedFolder = "failed";
    public const string ReasonSuffix = ".reason.txt";
    public static readonly ActivitySource Source = new("Dispatch.Silo.Cfs");
    private static readonly Meter Meter = new("Dispatch.Silo.Cfs");
    private static readonly Counter<long> Files = Meter.CreateCounter<long>("dispatch.cfs.files", "{file}", "CAD files read, by status (imported, duplicate, failed).");
    private static readonly Counter<long> Records = Meter.CreateCounter<long>("dispatch.cfs.records", "{record}", "Calls for service imported.");

    private readonly string _owner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
    private readonly Dictionary<string, (long Size, DateTime Modified)> _observed = new();
    private readonly Dictionary<Guid, DateTimeOffset> _lastScan = new();
    private readonly HashSet<Guid> _missingInbox = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        logger.LogInformation("Work loop {Module} started as {Owner}", Module, _owner);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await TickAsync(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    logger.LogError(ex, "Work loop {Module} failed; retrying", Module);
                }
                await Task.Delay(options.Value.Tick, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
        finally
        {
            try
            {
                await using var scope = await store.BeginEngineAsync(CancellationToken.None);
                await CfsImports.ReleaseAsync(scope, _owner);
                await scope.CommitAsync(CancellationToken.None);
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
            {
                logger.LogWarning("Could not release the CFS leases ({Error}); they expire on their own", ex.Message);
            }
        }
    }

    private async Task TickAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<LeasedConfiguration> leased;
        await using (var scope = await store.BeginEngineAsync(cancellationToken))
        {
            leased = await CfsImports.LeaseAsync(scope, _owner, time.GetUtcNow(), options.Value.Lease);
            await scope.CommitAsync(cancellationToken);
        }
        foreach (var configuration in leased)
        {
            var now = time.GetUtcNow();
            if (_lastScan.TryGetValue(configuration.Id, out var last) && now - last < TimeSpan.FromSeconds(configuration.PollIntervalSeconds)) continue;
            _lastScan[configuration.Id] = now;
            await ScanAsync(configuration, cancellationToken);
        }
    }

    private async Task ScanAsync(LeasedConfiguration configuration, CancellationToken cancellationToken)
    {
        // Checked again on every scan, on this host: a folder can vanish, and a link inside the root can be repointed.
        if (!inboxes.Contains(configuration.InboxPath))
        {
            if (_missingInbox.Add(configuration.Id))
                logger.LogWarning("CFS inbox {InboxPath} of configuration {ConfigurationId} does not exist, cannot be read or is outside the inbox root",
                    configuration.InboxPath, configuration.Id);
            return;
        }
        _missingInbox.Remove(configuration.Id);
        var marker = configuration.Mappings.MarkerSuffix;
        var files = Directory.EnumerateFiles(configuration.InboxPath, configuration.FilePattern, SearchOption.TopDirectoryOnly)
            .Where(f => !f.EndsWith(ReasonSuffix, StringComparison.Ordinal) && (marker is null || !f.EndsWith(marker, StringComparison.Ordinal)))
            .Order(StringComparer.Ordinal).ToList();
        foreach (var path in files)
        {
            if (cancellationToken.IsCancellationRequested) return;
            if (!IsComplete(path, marker)) continue;
            await ImportFileAsync(configuration, path, cancellationToken);
        }
        foreach (var gone in _observed.Keys.Where(k => !File.Exists(k)).ToList()) _observed.Remove(gone);
    }

    /// <summary>Complete: the marker exists, or size and modification time are what the previous scan saw.</summary>
    private bool IsComplete(string path, string? marker)
    {
        if (marker is not null) return File.Exists(path + marker);
        var info = new FileInfo(path);
        if (!info.Exists) return false;
        var now = (info.Length, info.LastWriteTimeUtc);
        var stable = _observed.TryGetValue(path, out var before) && before == now;
        _observed[path] = now;
        return stable;
    }

    private async Task ImportFileAsync(LeasedConfiguration configuration, string path, CancellationToken cancellationToken)
    {
        using var activity = Source.StartActivity("import cfs file");
        var name = Path.GetFileName(path);
        activity?.SetTag("dispatch.cfs.configuration.id", configuration.Id);
        CfsImportOutcome outcome;
        try
        {
            // The import runs as the configuration's PSAP: row-level security keeps it to that agency's rows.
            await using var scope = await store.BeginAsync(new AgencyContext(configuration.AgencyId), cancellationToken);
            if (configuration.Mappings.SizeError(new FileInfo(path).Length) is { } tooLarge)
            {
                // Too large to read into memory: hashed as a stream and refused without parsing.
                await using var stream = File.OpenRead(path);
                var hash = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
                outcome = await CfsImports.RejectAsync(scope, configuration, name, hash, tooLarge, time.GetUtcNow());
            }
            else
            {
                outcome = await CfsImports.ImportAsync(scope, configuration, name, await File.ReadAllBytesAsync(path, cancellationToken), time.GetUtcNow());
            }
            await scope.CommitAsync(cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            // Another Silo imported the same content between our check and our insert.
            await using var scope = await store.BeginAsync(new AgencyContext(configuration.AgencyId), cancellationToken);
            outcome = await CfsImports.ImportAsync(scope, configuration, name, await File.ReadAllBytesAsync(path, cancellationToken), time.GetUtcNow());
            await scope.CommitAsync(cancellationToken);
        }
        catch (IOException e)
        {
            logger.LogWarning("CFS file {File} could not be read ({Error}); trying again on the next scan", name, e.Message);
            return;
        }

        Files.Add(1, new KeyValuePair<string, object?>("dispatch.cfs.status", outcome.Status));
        Records.Add(outcome.RecordCount);
        activity?.SetTag("dispatch.cfs.status", outcome.Status);
        Move(configuration, path, outcome);
        if (outcome.Status == CfsImportStatus.Failed)
            logger.LogWarning("CFS file {File} failed: {Reason}", name, outcome.Error);
        else
            logger.LogInformation("CFS file {File}: {Status}, {Records} record(s), {Updated} update(s)", name, outcome.Status, outcome.RecordCount, outcome.Updated);
    }

    /// <summary>After the commit: into processed/ or failed/ (with the reason beside it). Never overwrites a file already there.</summary>
    private void Move(LeasedConfiguration configuration, string path, CfsImportOutcome outcome)
    {
        var folder = Path.Combine(configuration.InboxPath, outcome.Status == CfsImportStatus.Failed ? FailedFolder : ProcessedFolder);
        Directory.CreateDirectory(folder);
        var target = Path.Combine(folder, Path.GetFileName(path));
        if (File.Exists(target)) target += "." + outcome.ImportId.ToString("N");
        try
        {
            File.Move(path, target);
            if (outcome.Status == CfsImportStatus.Failed) File.WriteAllText(target + ReasonSuffix, outcome.Error + Environment.NewLine);
            if (configuration.Mappings.MarkerSuffix is { } marker) File.Delete(path + marker);
        }
        catch (IOException e)
        {
            // Committed but not moved: the next scan finds the same content already imported and records it as a duplicate.
            logger.LogWarning("CFS file {File} imported but not moved ({Error})", Path.GetFileName(path), e.Message);
        }
        _observed.Remove(path);
    }
}
