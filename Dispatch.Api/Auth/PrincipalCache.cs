using Dispatch.Grains.Identity;
using Dispatch.Grains.Storage;
using Npgsql;

namespace Dispatch.Api.Auth;

/// <summary>
/// What a bearer token's user may do now (active, agency, role's permissions), read from the store once and then held until it
/// changes — instead of a read in every request. A change to users, roles or agencies that bears on it is announced by the
/// database on <c>dispatch_access</c> (migration 0021) when it commits; this Api listens on a connection of its own and forgets
/// every principal it holds at each announcement. While it is not listening (starting, or the database unreachable) nothing is
/// held and every request reads. An access change made through this Api also forgets before its answer is sent, so the caller's
/// next request is checked afresh; another Api instance learns of it when the announcement arrives (milliseconds).
/// </summary>
public sealed class PrincipalCache(Credentials credentials, DispatchDatabase database, TimeProvider time, ILogger<PrincipalCache> logger)
    : BackgroundService
{
    public const string Channel = "dispatch_access";
    private static readonly TimeSpan Reconnect = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Liveness = TimeSpan.FromSeconds(30);
    private static readonly string[] AccessPaths = ["/api/v1/users", "/api/v1/roles", "/api/v1/agencies"];

    private readonly Dictionary<Guid, PrincipalRecord> _held = [];
    private readonly Lock _gate = new();
    private long _generation;
    private bool _listening;

    public async Task<PrincipalRecord?> FindAsync(Guid userId)
    {
        long generation;
        lock (_gate)
        {
            if (_listening && _held.TryGetValue(userId, out var held)) return held;
            generation = _generation;
        }
        var found = await credentials.FindPrincipalAsync(userId);
        lock (_gate)
        {
            // Kept only if nothing was announced while it was being read: a change that committed meanwhile may not be in it.
            if (found is not null && _listening && _generation == generation) _held[userId] = found;
        }
        return found;
    }

    /// <summary>Forgets every principal held; the next request of each user reads its own again.</summary>
    public void Forget()
    {
        lock (_gate) ForgetHeld();
    }

    /// <summary>
    /// Starts or stops holding principals, forgetting what is held either way: whatever was read before listening began may
    /// predate a change nobody heard, and nothing is held while nobody hears.
    /// </summary>
    private void Hold(bool listening)
    {
        lock (_gate)
        {
            ForgetHeld();
            _listening = listening;
        }
    }

    private void ForgetHeld()
    {
        _generation++;
        _held.Clear();
    }

    /// <summary>
    /// Forgets at once when this Api answers a change to users, roles or agencies with success, before the answer is sent: the
    /// announcement of that change may arrive after the caller's next request.
    /// </summary>
    public static IApplicationBuilder UseForgetOnAccessChange(IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var request = context.Request;
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method)
            && AccessPaths.Any(p => request.Path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase)))
        {
            var cache = context.RequestServices.GetRequiredService<PrincipalCache>();
            context.Response.OnStarting(() =>
            {
                if (context.Response.StatusCode < 400) cache.Forget();
                return Task.CompletedTask;
            });
        }
        await next();
    });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ListenAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException or InvalidOperationException)
            {
                logger.LogWarning("Not hearing access changes ({Error}); every request reads its principal until it does again", ex.Message);
            }
            finally
            {
                Hold(false);
            }
            await Task.Delay(Reconnect, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task ListenAsync(CancellationToken stoppingToken)
    {
        await using var connection = await database.App.OpenConnectionAsync(stoppingToken);
        connection.Notification += (_, _) => Forget();
        await using (var listen = new NpgsqlCommand($"listen {Channel}", connection))
            await listen.ExecuteNonQueryAsync(stoppingToken);
        Hold(true);
        try
        {
            while (true)
            {
                // Quiet for a while: make sure the connection is still there (a silently dropped one would hear nothing).
                if (!await connection.WaitAsync(Liveness, stoppingToken))
                {
                    await using var ping = new NpgsqlCommand("select 1", connection);
                    await ping.ExecuteScalarAsync(stoppingToken);
                }
            }
        }
        finally
        {
            if (connection.State == System.Data.ConnectionState.Open)
            {
                // Back to the pool without the subscription (connections are not reset on close).
                await using var unlisten = new NpgsqlCommand("unlisten *", connection);
                try { await unlisten.ExecuteNonQueryAsync(CancellationToken.None); }
                catch (NpgsqlException) { }
            }
        }
    }
}
