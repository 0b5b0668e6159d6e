using System.Reflection;
using Npgsql;
using NpgsqlTypes;

namespace Dispatch.Grains.Storage;

/// <summary>
/// One statement of a batch (<see cref="StoreScope.BatchAsync"/>): SQL with <c>@name</c> placeholders and an object whose
/// properties are the parameters, as Dapper takes them. A null takes its PostgreSQL type from the property's declared type.
/// </summary>
/// <param name="RowType">For a statement whose rows are wanted: the type each row maps to (as Dapper maps it).</param>
/// <param name="FirstColumn">The name of that statement's first column, by which its result set is recognised.</param>
public sealed record BatchStatement(string Sql, object? Parameters = null, Type? RowType = null, string? FirstColumn = null)
{
    /// <summary>Another statement over this one's parameters and <paramref name="more"/> (whose names win).</summary>
    public BatchStatement Over(string sql, object more) => new(sql, new ParameterSet([.. Items(Parameters), .. Items(more)]));

    /// <summary>
    /// Sets the transaction's agency context (row-level security) from here on: in a batch, or owed by an agency's transaction
    /// before its first statement (its parameter's name is one no caller uses).
    /// </summary>
    public static BatchStatement AgencyContext(Guid agencyId) =>
        new("select set_config('dispatch.agency_id', @DispatchAgencyContext, true) as agency_context", new { DispatchAgencyContext = agencyId.ToString() });

    internal NpgsqlBatchCommand ToCommand()
    {
        var command = new NpgsqlBatchCommand(Sql);
        var seen = new HashSet<string>();
        foreach (var (name, type, value) in Items(Parameters).Reverse())
        {
            if (!seen.Add(name)) continue;
            command.Parameters.Add(value is null
                ? new NpgsqlParameter(name, NullType(type)) { Value = DBNull.Value }
                : new NpgsqlParameter(name, value));
        }
        return command;
    }

    private static IEnumerable<(string Name, Type Type, object? Value)> Items(object? parameters) => parameters switch
    {
        null => [],
        ParameterSet set => set.Items,
        IReadOnlyDictionary<string, object?> named => named.Select(p => (p.Key, p.Value?.GetType() ?? typeof(string), p.Value)),
        _ => parameters.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => (p.Name, p.PropertyType, p.GetValue(parameters))),
    };

    private sealed record ParameterSet(IReadOnlyList<(string Name, Type Type, object? Value)> Items);

    private static NpgsqlDbType NullType(Type type) => (Nullable.GetUnderlyingType(type) ?? type) switch
    {
        var t when t == typeof(Guid) => NpgsqlDbType.Uuid,
        var t when t == typeof(DateTimeOffset) || t == typeof(DateTime) => NpgsqlDbType.TimestampTz,
        var t when t == typeof(int) => NpgsqlDbType.Integer,
        var t when t == typeof(long) => NpgsqlDbType.Bigint,
        var t when t == typeof(bool) => NpgsqlDbType.Boolean,
        var t when t == typeof(byte[]) => NpgsqlDbType.Bytea,
        var t when t == typeof(Guid[]) => NpgsqlDbType.Array | NpgsqlDbType.Uuid,
        _ => NpgsqlDbType.Text,
    };
}

/// <summary>What a batch did: each statement's affected rows (in order), and the first row of its result sets by column name.</summary>
public sealed record BatchResult(IReadOnlyList<int> Affected, IReadOnlyDictionary<string, object?> Values, IReadOnlyList<IReadOnlyList<object>> Rows)
{
    public T? Value<T>(string column) => Values.TryGetValue(column, out var value) && value is T typed ? typed : default;

    /// <summary>The rows of statement <paramref name="index"/> (one with a <see cref="BatchStatement.RowType"/>).</summary>
    public IReadOnlyList<T> RowsOf<T>(int index) => Rows[index].Cast<T>().ToList();
}
