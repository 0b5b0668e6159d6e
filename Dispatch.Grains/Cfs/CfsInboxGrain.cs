using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using Dispatch.Grains.Storage;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Npgsql;

namespace Dispatch.Grains.Cfs;

/// <summary>The scanner of one CFS configuration's inbox; its identity makes it the only one in the cluster.</summary>
public interface ICfsInboxGrain : IGrainWithGuidKey
{
    /// <summary>Starts scanning (or keeps scanning) while the configuration is active; stops and lets the grain go once it is not.</summary>
    [OneWay]
    Task EnsureScanningAsync();
}

/// <summary>
/// Scans a CAD inbox every poll interval, on a grain timer, with the configuration it was last told of (no read per scan). A file is read once it is complete — its size and modification time
/// unchanged since the previous scan, or its marker file present — then imported in one transaction run as the PSAP and moved to
/// <c>processed/</c>, or with a <c>.reason.txt</c> beside it to <c>failed/</c>. A reminder brings the grain back on another silo
/// after a crash; the unique index on (configuration, content hash) keeps a file imported once even if two activations overlap.
/// </summary>
internal sealed class CfsInboxGrain(DispatchStore store, CfsInboxRoot inboxes, TimeProvider time, ILogger<CfsInboxGrain> logger)
    : Grain, ICfsInboxGrain, IRemindable
{
    public const string ProcessedFolder = "processed";
    public const string FailedFolder = "failed";
    public const string ReasonSuffix = ".reason.txt";
    private const string KeepScanning = "keep-scanning";
    public static readonly ActivitySource Source = new("Dispatch.Cfs");
    private static readonly Meter Meter = new("Dispatch.Cfs");
    private static readonly Counter<long> Files = Meter.CreateCounter<long>("dispatch.cfs.files", "{file}", "CAD files read, by status (imported, duplicate, failed).");
    private static readonly Counter<long> Records = Meter.CreateCounter<long>("dispatch.cfs.records", "{record}", "Calls for service imported.");

    private readonly Dictionary<string, (long Size, DateTime Modified)> _observed = new();
    private InboxConfiguration? _configuration;
    private IGrainTimer? _timer;
    private int _interval;
    private bool _missingLogged;

    public async Task EnsureScanningAsync()
    {
        if ((_configuration = await LoadAsync()) is not { } configuration)
        {
            await StopAsync();
            return;
        }
        // The reminder only revives the grain after a crash or a restart (registered once per activation); the timer scans.
        if (_timer is null) await this.RegisterOrUpdateReminder(KeepScanning, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        Schedule(configuration.PollIntervalSeconds);
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => EnsureScanningAsync();

    private void Schedule(int intervalSeconds)
    {
        if (_timer is not null && _interval == intervalSeconds) return;
        _timer?.Dispose();
        _interval = intervalSeconds;
        _timer = this.RegisterGrainTimer(ScanAsync, new GrainTimerCreationOptions
        {
            DueTime = TimeSpan.Zero, Period = TimeSpan.FromSeconds(intervalSeconds), Interleave = false, KeepAlive = true,
        });
    }

    private async Task StopAsync()
    {
        _timer?.Dispose();
        _timer = null;
        if (await this.GetReminder(KeepScanning) is { } reminder) await this.UnregisterReminder(reminder);
        DeactivateOnIdle();
    }

    private async Task<InboxConfiguration?> LoadAsync()
    {
        await using var scope = await store.BeginEngineAsync();
        return await CfsImports.ActiveAsync(scope, this.GetPrimaryKey());
    }

    private async Task ScanAsync(CancellationToken cancellationToken)
    {
        // Held since the last EnsureScanningAsync: the Api tells this grain of every change to its configuration, and the silos'
        // sweep calls it again every half minute (a change made straight in the database).
        if ((_configuration ??= await LoadAsync()) is not { } configuration)
        {
            await StopAsync();
            return;
        }
        // Checked again on every scan, on this host: a folder can vanish, and a link inside the root can be repointed.
        if (!inboxes.Contains(configuration.InboxPath))
        {
            if (!_missingLogged)
                logger.LogWarning("CFS inbox {InboxPath} of configuration {ConfigurationId} does not exist, cannot be read or is outside the inbox root",
                    configuration.InboxPath, configuration.Id);
            _missingLogged = true;
            return;
        }
        _missingLogged = false;
        var marker = configuration.Mappings.MarkerSuffix;
        var files = Directory.EnumerateFiles(configuration.InboxPath, configuration.FilePattern, SearchOption.TopDirectoryOnly)
            .Where(f => !f.EndsWith(ReasonSuffix, StringComparison.Ordinal) && (marker is null || !f.EndsWith(marker, StringComparison.Ordinal)))
            .Order(StringComparer.Ordinal).ToList();
        foreach (var path in files)
        {
            if (cancellationToken.IsCancellationRequested) return;
            if (IsComplete(path, marker)) await ImportFileAsync(configuration, path, cancellationToken);
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

    private async Task ImportFileAsync(InboxConfiguration configuration, string path, CancellationToken cancellationToken)
    {
        using var activity = Source.StartActivity("import cfs file");
        var name = Path.GetFileName(path);
        activity?.SetTag("dispatch.cfs.configuration.id", configuration.Id);
        CfsImportOutcome outcome;
        try
        {
            outcome = await ImportAsync(configuration, path, cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            // Another activation (during a silo's failover) imported the same content between our check and our insert.
            outcome = await ImportAsync(configuration, path, cancellationToken);
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
            logger.LogInformation("CFS file {File}: {Status}, {Records} record(s), {Updated} update(s), {Warnings} warning(s)", name, outcome.Status,
                outcome.RecordCount, outcome.Updated, outcome.WarningCount);
    }

    // The import runs as the configuration's PSAP: row-level security keeps it to that agency's rows.
    private async Task<CfsImportOutcome> ImportAsync(InboxConfiguration configuration, string path, CancellationToken cancellationToken)
    {
        await using var scope = await store.BeginAsync(new AgencyContext(configuration.AgencyId), cancellationToken);
        CfsImportOutcome outcome;
        if (configuration.Mappings.SizeError(new FileInfo(path).Length) is { } tooLarge)
        {
            // Too large to read into memory: hashed as a stream and refused without parsing.
            await using var stream = File.OpenRead(path);
            var hash = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
            outcome = await CfsImports.RejectAsync(scope, configuration, Path.GetFileName(path), hash, tooLarge, time.GetUtcNow());
        }
        else
        {
            outcome = await CfsImports.ImportAsync(scope, configuration, Path.GetFileName(path), await File.ReadAllBytesAsync(path, cancellationToken),
                time.GetUtcNow());
        }
        await scope.CommitAsync(cancellationToken);
        // Incidents raised by the import: their companies' notifications and deadlines go to their grains now.
        await scope.Wakes.SendAsync(GrainFactory);
        return outcome;
    }

    /// <summary>After the commit: into processed/ or failed/ (with the reason beside it). Never overwrites a file already there.</summary>
    private void Move(InboxConfiguration configuration, string path, CfsImportOutcome outcome)
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
