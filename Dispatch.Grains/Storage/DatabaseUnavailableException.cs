using Npgsql;

namespace Dispatch.Grains.Storage;

/// <summary>
/// The database could not be reached, or broke off, while a grain worked: nothing of the command was committed. Raised by the
/// silo in place of Npgsql's exception, which Orleans cannot carry back to the caller (it has no codec for it: the Api saw a
/// <c>CodecNotFoundException</c> and answered 500); the Api answers it 503 with <c>Retry-After</c>.
/// </summary>
[GenerateSerializer]
public sealed class DatabaseUnavailableException(string message) : Exception(message)
{
    /// <summary>
    /// A connection that could not be made or broke (the server down, or just back with every pooled connection dead), or the
    /// server refusing work while it shuts down or starts (SQLSTATE 57P…, 08…). A statement the server judged and refused is not.
    /// </summary>
    public static bool IsUnreachable(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case DatabaseUnavailableException:
                    return true;
                case PostgresException pg:
                    return pg.IsTransient || pg.SqlState.StartsWith("57P", StringComparison.Ordinal) || pg.SqlState.StartsWith("08", StringComparison.Ordinal);
                case NpgsqlException or System.Net.Sockets.SocketException or EndOfStreamException:
                    return true;
            }
        }
        return false;
    }
}

/// <summary>Every grain call: a database failure leaves the silo as a <see cref="DatabaseUnavailableException"/> the caller can read.</summary>
public sealed class DatabaseFailures : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        try
        {
            await context.Invoke();
        }
        catch (Exception e) when (e is not DatabaseUnavailableException && DatabaseUnavailableException.IsUnreachable(e))
        {
            throw new DatabaseUnavailableException($"The database is unreachable: {e.GetBaseException().Message}");
        }
    }
}
