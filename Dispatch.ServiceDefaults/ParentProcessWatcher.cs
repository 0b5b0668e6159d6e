using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dispatch.ServiceDefaults;

/// <summary>
/// When a supervisor (the AppHost) names itself in <c>DISPATCH_PARENT_PID</c>, the host stops once that
/// process is gone, so that killing the supervisor outright leaves no orphan behind.
/// </summary>
public sealed class ParentProcessWatcher(IConfiguration configuration, IHostApplicationLifetime lifetime,
    TimeProvider time, ILogger<ParentProcessWatcher> logger) : BackgroundService
{
    public const string Variable = "DISPATCH_PARENT_PID";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!int.TryParse(configuration[Variable], out var parentPid))
            return;
        while (!stoppingToken.IsCancellationRequested)
        {
            if (!IsAlive(parentPid))
            {
                logger.LogWarning("Supervisor process {ParentPid} is gone; stopping", parentPid);
                lifetime.StopApplication();
                return;
            }
            await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
