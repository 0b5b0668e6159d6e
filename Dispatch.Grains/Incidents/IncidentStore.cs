using Dapper;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;

namespace Dispatch.Grains.Incidents;

/// <summary>Loads and saves incident state within an agency's scope; a stale save is a conflict.</summary>
internal static class IncidentStore
{
    private const string Columns = """
        id, agency_id, priority, status, incident_type, title, description, address, version,
        created_at, acknowledged_at, resolved_at, closed_at
        """;

    private const string Insert = """
        insert into incidents (id, agency_id, priority, status, incident_type, title, description, address,
                               created_by_user_id, created_by_api_key_id, created_by_command_connection_id, created_at, updated_at)
        values (@Id, @AgencyId, @Priority, 'open', @IncidentType, @Title, @Description, @Address,
                @UserId, @ApiKeyId, @CommandConnectionId, @Now, @Now)
        """;

    internal const string SelectById = $"select {Columns} from incidents where id = @Id";

    private const string Update = """
        update incidents
        set priority = @Priority, status = @Status, description = @Description, address = @Address,
            acknowledged_at = @AcknowledgedAt, resolved_at = @ResolvedAt, closed_at = @ClosedAt,
            version = version + 1, updated_at = now()
        where id = @Id and version = @Version
        """;

    /// <summary>Writes a new incident with <paramref name="id"/> (its grain's key) as the scope's agency.</summary>
    public static async Task<IncidentState> CreateAsync(AgencyScope scope, Guid id, NewIncident incident, DateTimeOffset now)
    {
        var state = New(scope, id, incident, now);
        await scope.BatchAsync(CreateStatements(scope, state));
        return state;
    }

    /// <summary>A new incident's state, open, as the scope's agency.</summary>
    public static IncidentState New(AgencyScope scope, Guid id, NewIncident incident, DateTimeOffset now) => IncidentPriority.IsValid(incident.Priority)
        ? new IncidentState(id, scope.Context.AgencyId, incident.Priority, IncidentStatus.Open, incident.IncidentType, incident.Title,
            incident.Description, incident.Address, 1, now, null, null, null)
        : throw new ArgumentException($"Unknown priority '{incident.Priority}'.", nameof(incident));

    /// <summary>A new incident's row as a statement for a batch (its address encrypted here), with its audit row's.</summary>
    public static IReadOnlyList<BatchStatement> CreateStatements(AgencyScope scope, IncidentState state) =>
    [
        new(Insert, new
        {
            state.Id,
            state.AgencyId,
            state.Priority,
            state.IncidentType,
            state.Title,
            state.Description,
            Address = scope.Cipher.EncryptText(state.Address, EncryptedColumns.IncidentAddress.Context),
            scope.Context.UserId,
            scope.Context.ApiKeyId,
            scope.Context.CommandConnectionId,
            Now = state.CreatedAt,
        }),
        AuditLog.Statement(scope.Context.AgencyId, scope.Context.UserId, scope.Context.ApiKeyId, scope.Context.CommandConnectionId,
            "incident.created", "incident", state.Id, null, state),
    ];

    /// <summary>The incident from a result set of <see cref="SelectById"/>; null when there was none.</summary>
    public static async Task<IncidentState?> ReadAsync(SqlMapper.GridReader grid, FieldCipher cipher) =>
        (await grid.ReadSingleOrDefaultAsync<IncidentRow>())?.ToState(cipher);

    public static async Task<IncidentState?> GetAsync(StoreScope scope, Guid id)
    {
        var row = await scope.QuerySingleOrDefaultAsync<IncidentRow>(SelectById, new { Id = id });
        return row?.ToState(scope.Cipher);
    }

    /// <summary>Saves <paramref name="after"/> if the row is still at the version it was read at.</summary>
    public static async Task<IncidentState> SaveAsync(AgencyScope scope, IncidentState before, IncidentState after)
    {
        if (before.Id != after.Id || before.Version != after.Version)
            throw new ArgumentException("after must be a transition of before.", nameof(after));
        if (before == after) return before;
        var changed = await scope.ExecuteAsync(Update, new
        {
            after.Id, after.Version, after.Priority, after.Status, after.Description,
            Address = scope.Cipher.EncryptText(after.Address, EncryptedColumns.IncidentAddress.Context),
            after.AcknowledgedAt, after.ResolvedAt, after.ClosedAt,
        });
        if (changed == 0) throw new ConcurrencyConflictException("incident", after.Id, after.Version);
        var saved = after with { Version = after.Version + 1 };
        await scope.AuditAsync("incident.updated", "incident", after.Id, before, saved);
        return saved;
    }

    private sealed record IncidentRow(
        Guid Id, Guid AgencyId, string Priority, string Status, string? IncidentType, string Title, string Description,
        byte[]? Address, int Version, DateTime CreatedAt, DateTime? AcknowledgedAt, DateTime? ResolvedAt, DateTime? ClosedAt)
    {
        public IncidentState ToState(FieldCipher cipher) => new(Id, AgencyId, Priority, Status, IncidentType, Title, Description,
            cipher.DecryptText(Address, EncryptedColumns.IncidentAddress.Context), Version,
            Time.Utc(CreatedAt), Time.Utc(AcknowledgedAt), Time.Utc(ResolvedAt), Time.Utc(ClosedAt));
    }
}
