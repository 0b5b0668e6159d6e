using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dispatch.Grains.Storage.Encryption;

/// <summary>
/// The second step of a key rotation: rewrites every encrypted value that is not under the active key.
/// Runs as the table owner, batch by batch in short transactions, so it can run beside live traffic
/// and be interrupted and resumed.
/// </summary>
public sealed class Reencryptor(DispatchDatabase database, FieldCipher cipher, ILogger<Reencryptor> logger)
{
    private const int BatchSize = 500;

    /// <returns>How many values moved to the active key, per <c>table.column</c>.</returns>
    public async Task<IReadOnlyDictionary<string, int>> RunAsync(CancellationToken cancellationToken = default)
    {
        var moved = new Dictionary<string, int>();
        foreach (var column in EncryptedColumns.All)
        {
            moved[column.Context] = await ReencryptAsync(column, cancellationToken);
            logger.LogInformation("Re-encrypted {Count} value(s) of {Column} under key {KeyId}",
                moved[column.Context], column.Context, cipher.Keys.ActiveKeyId);
        }
        return moved;
    }

    private async Task<int> ReencryptAsync(EncryptedColumn column, CancellationToken cancellationToken)
    {
        var value = column.Kind == EncryptedKind.Json ? $"{column.Column}::text" : column.Column;
        var parameter = column.Kind == EncryptedKind.Json ? "@Value::jsonb" : "@Value";
        var select = $"""
            select id, {value} as value from {column.Table}
            where {column.Column} is not null and id > @After order by id limit {BatchSize} for update
            """;
        var update = $"update {column.Table} set {column.Column} = {parameter} where id = @Id";

        var moved = 0;
        var after = Guid.Empty;
        while (true)
        {
            await using var connection = await database.Owner.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await connection.ExecuteAsync("select set_config('dispatch.reencrypting', 'on', true)", transaction: transaction);
            var rows = column.Kind == EncryptedKind.Json
                ? (await connection.QueryAsync<(Guid Id, string Value)>(select, new { After = after }, transaction))
                    .Select(r => (r.Id, Value: (object)r.Value)).ToList()
                : (await connection.QueryAsync<(Guid Id, byte[] Value)>(select, new { After = after }, transaction))
                    .Select(r => (r.Id, Value: (object)r.Value)).ToList();
            if (rows.Count == 0) return moved;

            foreach (var (id, stored) in rows)
            {
                object? rewritten = stored switch
                {
                    string envelope when FieldCipher.KeyIdOfEnvelope(envelope) != cipher.Keys.ActiveKeyId =>
                        cipher.EncryptJson(cipher.DecryptJson(envelope, column.Context), column.Context),
                    byte[] blob when FieldCipher.KeyIdOf(blob) != cipher.Keys.ActiveKeyId =>
                        cipher.Encrypt(cipher.Decrypt(blob, column.Context), column.Context),
                    _ => null,
                };
                if (rewritten is null) continue;
                await connection.ExecuteAsync(update, new { Id = id, Value = rewritten }, transaction);
                moved++;
            }
            await transaction.CommitAsync(cancellationToken);
            after = rows[^1].Id;
        }
    }
}
