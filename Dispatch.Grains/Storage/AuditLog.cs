using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dispatch.Grains.Storage;

/// <summary>
/// Appends to <c>audit_logs</c> inside the caller's transaction, so an audit row exists exactly when
/// the change it describes was committed. Secrets and encrypted values never reach the log.
/// </summary>
public static class AuditLog
{
    public const string Redacted = "[redacted]";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    // Credentials by name, and the columns encrypted at rest (whose clear text must stay out of logs).
    private static readonly string[] SecretNameParts =
        ["password", "secret", "token", "apikey", "keyhash", "credential", "authorization", "privatekey", "signingkey"];

    private static readonly HashSet<string> EncryptedNames =
        new(StringComparer.OrdinalIgnoreCase) { "config", "configoverride", "platformconfig", "address", "rawxml", "content" };

    private const string Insert = """
        insert into audit_logs (agency_id, user_id, api_key_id, command_connection_id, action, entity_type, entity_id, before, after)
        values (@AgencyId, @UserId, @ApiKeyId, @CommandConnectionId, @Action, @EntityType, @EntityId, @Before::jsonb, @After::jsonb)
        """;

    internal static Task AppendAsync(StoreScope scope, Guid agencyId, Guid? userId, Guid? apiKeyId, Guid? commandConnectionId,
        string action, string entityType, Guid? entityId, object? before, object? after)
    {
        var statement = Statement(agencyId, userId, apiKeyId, commandConnectionId, action, entityType, entityId, before, after);
        return scope.ExecuteAsync(statement.Sql, statement.Parameters);
    }

    /// <summary>The audit row as a statement, for a batch.</summary>
    public static BatchStatement Statement(Guid agencyId, Guid? userId, Guid? apiKeyId, Guid? commandConnectionId,
        string action, string entityType, Guid? entityId, object? before, object? after) => new(Insert, new
        {
            AgencyId = agencyId,
            UserId = userId,
            ApiKeyId = apiKeyId,
            CommandConnectionId = commandConnectionId,
            Action = action,
            EntityType = entityType,
            EntityId = entityId,
            Before = Snapshot(before),
            After = Snapshot(after),
        });

    /// <summary>The JSON recorded for a state: snake_case, with every secret or encrypted value replaced.</summary>
    public static string? Snapshot(object? state)
    {
        if (state is null) return null;
        var node = state as JsonNode ?? JsonSerializer.SerializeToNode(state, state.GetType(), Json);
        return Redact(node)?.ToJsonString();
    }

    private static JsonNode? Redact(JsonNode? node)
    {
        if (node is JsonObject obj)
        {
            foreach (var (name, value) in obj.ToList())
            {
                if (value is not null && IsSensitive(name)) obj[name] = Redacted;
                else Redact(value);
            }
        }
        else if (node is JsonArray array)
        {
            foreach (var item in array) Redact(item);
        }
        return node;
    }

    public static bool IsSensitive(string name)
    {
        var compact = name.Replace("_", "").Replace("-", "").ToLowerInvariant();
        if (EncryptedNames.Contains(compact)) return true;
        // api_key_id, token_expires_at, key_prefix: references and metadata, not the secret itself
        if (NonSecretSuffixes.Any(compact.EndsWith)) return false;
        return SecretNameParts.Any(compact.Contains);
    }

    private static readonly string[] NonSecretSuffixes = ["id", "ids", "prefix", "at", "count", "mode"];
}
