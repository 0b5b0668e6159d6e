namespace Dispatch.Grains.Storage;

/// <summary>A write based on a version of a row that someone else changed first.</summary>
public sealed class ConcurrencyConflictException(string entity, Guid id, int expectedVersion)
    : Exception($"{entity} {id} changed since version {expectedVersion} was read.")
{
    public string Entity { get; } = entity;
    public Guid Id { get; } = id;
}

public static class Concurrency
{
    /// <summary>
    /// Runs a whole load–decide–save attempt again (in a new transaction, on fresh state) when it lost a
    /// race; a stale writer retries instead of overwriting.
    /// </summary>
    public static async Task<T> RetryOnConflictAsync<T>(Func<CancellationToken, Task<T>> attempt,
        int maxAttempts = 5, CancellationToken cancellationToken = default)
    {
        for (var i = 1; ; i++)
        {
            try
            {
                return await attempt(cancellationToken);
            }
            catch (ConcurrencyConflictException) when (i < maxAttempts)
            {
                await Task.Delay(Random.Shared.Next(1, 10 * i), cancellationToken);
            }
        }
    }
}
