using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Dispatch.Api.Auth;

/// <summary>
/// Counts failed logins per account and per client address in a sliding window; past the limit, login
/// answers 429 with Retry-After until the oldest failure leaves the window. Per Api process: with N
/// replicas an attacker gets at most N times the limit.
/// </summary>
public sealed class LoginThrottle(IOptions<AuthOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> _failures = new();

    /// <returns>How long to wait, or null when the attempt may proceed.</returns>
    public TimeSpan? RetryAfter(string email, string? address)
    {
        var o = options.Value;
        return Max(Wait(AccountKey(email), o.MaxFailuresPerAccount), address is null ? null : Wait(AddressKey(address), o.MaxFailuresPerAddress));
    }

    public void RecordFailure(string email, string? address)
    {
        Record(AccountKey(email));
        if (address is not null) Record(AddressKey(address));
    }

    public void RecordSuccess(string email) => _failures.TryRemove(AccountKey(email), out _);

    private TimeSpan? Wait(string key, int limit)
    {
        if (!_failures.TryGetValue(key, out var queue)) return null;
        lock (queue)
        {
            Trim(queue);
            if (queue.Count < limit) return null;
            return queue.ElementAt(queue.Count - limit) + options.Value.ThrottleWindow - time.GetUtcNow();
        }
    }

    private void Record(string key)
    {
        if (_failures.Count > MaxTrackedKeys) Sweep();
        var queue = _failures.GetOrAdd(key, _ => new Queue<DateTimeOffset>());
        lock (queue)
        {
            Trim(queue);
            queue.Enqueue(time.GetUtcNow());
        }
    }

    // Attacker-chosen emails must not grow memory without bound: forget keys whose failures have aged out.
    private const int MaxTrackedKeys = 100_000;

    private void Sweep()
    {
        foreach (var (key, queue) in _failures)
        {
            lock (queue)
            {
                Trim(queue);
                if (queue.Count == 0) _failures.TryRemove(key, out _);
            }
        }
    }

    private void Trim(Queue<DateTimeOffset> queue)
    {
        var horizon = time.GetUtcNow() - options.Value.ThrottleWindow;
        while (queue.Count > 0 && queue.Peek() <= horizon) queue.Dequeue();
    }

    private static TimeSpan? Max(TimeSpan? a, TimeSpan? b) => a is null ? b : b is null ? a : a > b ? a : b;

    private static string AccountKey(string email) => "account:" + email.Trim().ToLowerInvariant();

    private static string AddressKey(string address) => "address:" + address;
}
