using Dispatch.Grains.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Dispatch.ServiceDefaults;

/// <summary>
/// A host's start: a mistake in its settings, no database, a changed migration or a port in use is one sentence on standard
/// error and exit code 2, not an unhandled exception with its stack trace. Anything else still surfaces as it is.
/// </summary>
public static class HostStart
{
    public static async Task<int> RunAsync(string name, Func<IHost> build, Func<IHost, Task<int>>? beforeRun = null)
    {
        IHost host;
        try
        {
            host = build();
            if (beforeRun is not null) return await beforeRun(host);
            await host.StartAsync();
        }
        catch (Exception e) when (Sentence(e) is { } sentence)
        {
            await Console.Error.WriteLineAsync($"{name} did not start: {sentence}");
            return 2;
        }
        await host.WaitForShutdownAsync();
        (host as IDisposable)?.Dispose();
        return 0;
    }

    private static string? Sentence(Exception e) => e switch
    {
        MigrationChecksumMismatchException => e.Message,
        Npgsql.PostgresException pg => $"the database refused: {pg.MessageText}",
        Npgsql.NpgsqlException => $"the database is unreachable ({e.GetBaseException().Message}); check ConnectionStrings__dispatch and that PostgreSQL runs.",
        OptionsValidationException or InvalidOperationException or ArgumentException or FormatException => e.Message,
        IOException when e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase) =>
            $"{e.Message} Is another instance running? Stop it or choose another port (--urls).",
        AggregateException { InnerExceptions: [var only] } => Sentence(only),
        _ => null,
    };
}
