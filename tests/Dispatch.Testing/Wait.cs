namespace Dispatch.Testing;

/// <summary>Waits on a condition, never on a fixed sleep.</summary>
public static class Wait
{
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string>? explain = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Not reached within {timeout}. {explain?.Invoke()}");
            await Task.Delay(100);
        }
    }
}
