using Dapper;
using Dispatch.Grains.Agencies;
using Dispatch.Grains.Storage.Encryption;
using Npgsql;

namespace Dispatch.Grains.Storage;

/// <summary>Who is acting: the agency whose rows the transaction may touch, and the user, API key or command connection behind it.</summary>
[GenerateSerializer, Immutable]
public sealed record AgencyContext(Guid AgencyId, Guid? UserId = null, Guid? ApiKeyId = null, Guid? CommandConnectionId = null);

/// <summary>One short transaction on one connection; disposing without <see cref="CommitAsync"/> rolls back.</summary>
public abstract class StoreScope : IAsyncDisposable
{
    private readonly Action? _release;
    private readonly IDeliveryClaimant? _claimant;

    private protected StoreScope(NpgsqlConnection connection, NpgsqlTransaction transaction, FieldCipher cipher, IAgencyRouting routing,
        IDeliveryClaimant? claimant, Action? release = null)
    {
        _claimant = claimant;
        Connection = connection;
        Transaction = transaction;
        Cipher = cipher;
        Routing = routing;
        _release = release;
    }

    public NpgsqlConnection Connection { get; }

    /// <summary>In a silo: who claims the deliveries this transaction queues (see <see cref="CommitAsync"/>).</summary>
    internal IDeliveryClaimant? Claimant => _claimant;
    public NpgsqlTransaction Transaction { get; }
    public FieldCipher Cipher { get; }

    /// <summary>Routing decisions over agencies' configuration (their grains' copies in a silo) as of this transaction.</summary>
    public IAgencyRouting Routing { get; }

    private BatchStatement? _owed;

    /// <summary>
    /// A statement the transaction owes before any other (its agency context): sent in the same round trip as the next statement
    /// or batch, never in one of its own. Its parameters' names must not be a caller's (they share the round trip's parameters).
    /// </summary>
    private protected void Owe(BatchStatement statement) => _owed = statement;

    private BatchStatement? TakeOwed()
    {
        var owed = _owed;
        _owed = null;
        return owed;
    }

    public async Task<IEnumerable<T>> QueryAsync<T>(string sql, object? parameters = null) => _owed is null
        ? await Connection.QueryAsync<T>(sql, parameters, Transaction)
        : await ReadManyAsync(sql, parameters, async grid => (await grid.ReadAsync<T>()).ToList());

    public async Task<T?> QuerySingleOrDefaultAsync<T>(string sql, object? parameters = null) => _owed is null
        ? await Connection.QuerySingleOrDefaultAsync<T>(sql, parameters, Transaction)
        : await ReadManyAsync(sql, parameters, grid => grid.ReadSingleOrDefaultAsync<T>());

    public async Task<T?> ExecuteScalarAsync<T>(string sql, object? parameters = null) => _owed is null
        ? await Connection.ExecuteScalarAsync<T>(sql, parameters, Transaction)
        : await ReadManyAsync(sql, parameters, grid => grid.ReadFirstOrDefaultAsync<T>());

    /// <summary>Several result sets in one round trip (a statement owed goes first, its row skipped): <paramref name="read"/> reads them in order.</summary>
    public async Task<T> ReadManyAsync<T>(string sql, object? parameters, Func<SqlMapper.GridReader, Task<T>> read)
    {
        var owed = TakeOwed();
        await using var grid = owed is { } o
            ? await Connection.QueryMultipleAsync(o.Sql + ";\n" + sql, Together(o.Parameters, parameters), Transaction)
            : await Connection.QueryMultipleAsync(sql, parameters, Transaction);
        if (owed is not null) await grid.ReadAsync(); // the owed statement's own row
        return await read(grid);
    }

    private static DynamicParameters Together(object? first, object? second)
    {
        var merged = new DynamicParameters();
        if (first is not null) merged.AddDynamicParams(first);
        if (second is not null) merged.AddDynamicParams(second);
        return merged;
    }

    public async Task<int> ExecuteAsync(string sql, object? parameters = null) => _owed is null
        ? await Connection.ExecuteAsync(sql, parameters, Transaction)
        : (await BatchAsync([new BatchStatement(sql, parameters)])).Affected[0];

    /// <summary>
    /// Sends <paramref name="statements"/> (and a statement owed) in one round trip (<see cref="NpgsqlBatch"/>); stops at the first
    /// error. Answers each statement's affected rows, and the first row of every result set by column name.
    /// </summary>
    public async Task<BatchResult> BatchAsync(IReadOnlyList<BatchStatement> statements)
    {
        await using var batch = new NpgsqlBatch(Connection, Transaction);
        var taken = TakeOwed();
        var owed = taken is not null;
        if (taken is not null) batch.BatchCommands.Add(taken.ToCommand());
        foreach (var s in statements) batch.BatchCommands.Add(s.ToCommand());
        var named = new Dictionary<string, object?>(StringComparer.Ordinal);
        // Statements that return typed rows, in order; a result set whose first column is theirs is theirs.
        var typed = new Queue<int>(Enumerable.Range(0, statements.Count).Where(i => statements[i].RowType is not null));
        var rows = statements.Select(_ => new List<object>()).ToList();
        await using (var reader = await batch.ExecuteReaderAsync())
        {
            do
            {
                if (reader.FieldCount == 0) continue;
                if (typed.TryPeek(out var next) && reader.GetName(0) == statements[next].FirstColumn)
                {
                    typed.Dequeue();
                    var parse = reader.GetRowParser(statements[next].RowType!);
                    while (await reader.ReadAsync()) rows[next].Add(parse(reader));
                    continue;
                }
                if (!await reader.ReadAsync()) continue;
                for (var i = 0; i < reader.FieldCount; i++) named[reader.GetName(i)] = reader.IsDBNull(i) ? null : reader.GetValue(i);
                while (await reader.ReadAsync()) { }
            }
            while (await reader.NextResultAsync());
        }
        return new BatchResult(Enumerable.Range(owed ? 1 : 0, batch.BatchCommands.Count - (owed ? 1 : 0)).Select(i => batch.BatchCommands[i].RecordsAffected).ToList(),
            named, rows);
    }

    /// <summary>The grains this transaction gives work to, for the committer to wake after the commit.</summary>
    public GrainWakes Wakes { get; } = new();

    /// <summary>
    /// Commits. In a silo, the deliveries this transaction queued are first claimed for this silo in it (see
    /// <see cref="GrainWakes"/>), so their grains get their work in the call that follows, with nothing to claim or read.
    /// </summary>
    public async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        if (_claimant is not null) await Wakes.ClaimAsync(this, _claimant);
        await Transaction.CommitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await Transaction.DisposeAsync();
        await Connection.DisposeAsync();
        _release?.Invoke();
        GC.SuppressFinalize(this);
    }
}

/// <summary>A transaction as <c>dispatch_app</c> with the agency context set: row-level security decides what it sees.</summary>
public sealed class AgencyScope : StoreScope
{
    internal AgencyScope(NpgsqlConnection connection, NpgsqlTransaction transaction, FieldCipher cipher, IAgencyRouting routing,
        IDeliveryClaimant? claimant, AgencyContext context)
        : base(connection, transaction, cipher, routing, claimant)
    {
        Context = context;
        Owe(BatchStatement.AgencyContext(context.AgencyId));
    }

    public AgencyContext Context { get; }

    /// <summary>
    /// Reads what <paramref name="agencyId"/> may see, inside this transaction, then returns to the caller's own view.
    /// Only for a PSAP routing an incident to a company it is linked with: row-level security stays in force,
    /// scoped to one agency at a time.
    /// </summary>
    internal async Task<T> ReadAsAgencyAsync<T>(Guid agencyId, Func<Task<T>> read)
    {
        await ExecuteAsync("select set_config('dispatch.agency_id', @Id, true)", new { Id = agencyId.ToString() });
        try
        {
            return await read();
        }
        finally
        {
            await ExecuteAsync("select set_config('dispatch.agency_id', @Id, true)", new { Id = Context.AgencyId.ToString() });
        }
    }

    /// <summary>Appends an audit row for this agency, in this transaction, with secrets redacted.</summary>
    public Task AuditAsync(string action, string entityType, Guid? entityId, object? before, object? after) =>
        AuditLog.AppendAsync(this, Context.AgencyId, Context.UserId, Context.ApiKeyId, Context.CommandConnectionId, action, entityType, entityId, before, after);
}

/// <summary>A transaction as <c>dispatch_engine</c>: the Silo's view across agencies.</summary>
public sealed class EngineScope : StoreScope
{
    internal EngineScope(NpgsqlConnection connection, NpgsqlTransaction transaction, FieldCipher cipher, IAgencyRouting routing,
        IDeliveryClaimant? claimant, Action release)
        : base(connection, transaction, cipher, routing, claimant, release)
    {
    }

    /// <summary>Appends an audit row on behalf of the system for <paramref name="agencyId"/>.</summary>
    public Task AuditAsync(Guid agencyId, string action, string entityType, Guid? entityId, object? before, object? after) =>
        AuditLog.AppendAsync(this, agencyId, null, null, null, action, entityType, entityId, before, after);
}

/// <summary>
/// The only way the runtime reaches agency data (the spec's AgencyAwareRepository): a scope cannot be
/// opened without an <see cref="AgencyContext"/>, and the database enforces the same context.
/// </summary>
/// <remarks>
/// Routing reads agencies' configuration through <paramref name="routing"/>: their grains in a silo, the database itself elsewhere.
/// In a silo, <paramref name="claimant"/> claims what each transaction queues for the silo's own grains to send.
/// </remarks>
public sealed class DispatchStore(DispatchDatabase database, FieldCipher cipher, IAgencyRouting? routing = null,
    IDeliveryClaimant? claimant = null, int engineConcurrency = DispatchStore.DefaultEngineConcurrency)
{
    private readonly IAgencyRouting _routing = routing ?? StoredAgencyRouting.Instance;

    /// <summary>
    /// How many engine transactions one process runs at once. Thousands of grains may wake together (a burst of incidents);
    /// beyond this they wait their turn in memory instead of exhausting the connection pool.
    /// </summary>
    public const int DefaultEngineConcurrency = 32;

    private readonly SemaphoreSlim _engineGate = new(engineConcurrency, engineConcurrency);

    public async Task<AgencyScope> BeginAsync(AgencyContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.AgencyId == Guid.Empty)
            throw new ArgumentException("An agency context needs an agency.", nameof(context));
        var connection = await database.App.OpenConnectionAsync(cancellationToken);
        try
        {
            // BEGIN and the agency context travel with the transaction's first statement (or batch), not in round trips of their own.
            var transaction = await connection.BeginTransactionAsync(cancellationToken);
            return new AgencyScope(connection, transaction, cipher, _routing, claimant, context);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>An engine transaction; never open one while holding another (they share a bounded gate).</summary>
    public async Task<EngineScope> BeginEngineAsync(CancellationToken cancellationToken = default)
    {
        await _engineGate.WaitAsync(cancellationToken);
        NpgsqlConnection? connection = null;
        try
        {
            connection = await database.Engine.OpenConnectionAsync(cancellationToken);
            return new EngineScope(connection, await connection.BeginTransactionAsync(cancellationToken), cipher, _routing, claimant,
                () => _engineGate.Release());
        }
        catch
        {
            if (connection is not null) await connection.DisposeAsync();
            _engineGate.Release();
            throw;
        }
    }
}
