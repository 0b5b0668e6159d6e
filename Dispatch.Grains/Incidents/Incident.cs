namespace Dispatch.Grains.Incidents;

public static class IncidentPriority
{
    public const string Irod = "irod";
    public const string Critical = "critical";
    public const string Dangerous = "dangerous";
    public const string RoutineSpecial = "routine_special";

    public static IReadOnlyList<string> All { get; } = [Irod, Critical, Dangerous, RoutineSpecial];

    public static bool IsValid(string? priority) => priority is not null && All.Contains(priority);
}

public static class IncidentStatus
{
    public const string Open = "open";
    public const string Acknowledged = "acknowledged";
    public const string Resolved = "resolved";
    public const string Closed = "closed";
}

/// <summary>A status change the incident's state machine does not allow.</summary>
public sealed class IllegalTransitionException(string from, string to)
    : Exception($"An incident that is {from} cannot become {to}.")
{
    public string From { get; } = from;
    public string To { get; } = to;
}

/// <summary>
/// An incident's state and its transitions: pure decisions over the state, persisted by
/// <see cref="IncidentStore"/> with a version check. open → acknowledged → resolved → closed; an
/// open incident may be resolved directly; nothing leaves closed.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record IncidentState(
    Guid Id,
    Guid AgencyId,
    string Priority,
    string Status,
    string? IncidentType,
    string Title,
    string Description,
    string? Address,
    int Version,
    DateTimeOffset CreatedAt,
    DateTimeOffset? AcknowledgedAt,
    DateTimeOffset? ResolvedAt,
    DateTimeOffset? ClosedAt)
{
    /// <summary>Every assigned company has acknowledged. Repeating it changes nothing.</summary>
    public IncidentState Acknowledge(DateTimeOffset at) => Status switch
    {
        IncidentStatus.Open => this with { Status = IncidentStatus.Acknowledged, AcknowledgedAt = at },
        IncidentStatus.Acknowledged or IncidentStatus.Resolved or IncidentStatus.Closed => this,
        _ => throw new IllegalTransitionException(Status, IncidentStatus.Acknowledged),
    };

    /// <summary>A company was added after every other had acknowledged: the incident waits for it again.</summary>
    public IncidentState Reopen() => Status switch
    {
        IncidentStatus.Acknowledged => this with { Status = IncidentStatus.Open, AcknowledgedAt = null },
        IncidentStatus.Open => this,
        _ => throw new IllegalTransitionException(Status, IncidentStatus.Open),
    };

    public IncidentState Resolve(DateTimeOffset at) => Status switch
    {
        IncidentStatus.Open or IncidentStatus.Acknowledged => this with { Status = IncidentStatus.Resolved, ResolvedAt = at },
        _ => throw new IllegalTransitionException(Status, IncidentStatus.Resolved),
    };

    public IncidentState Close(DateTimeOffset at) => Status switch
    {
        IncidentStatus.Resolved => this with { Status = IncidentStatus.Closed, ClosedAt = at },
        _ => throw new IllegalTransitionException(Status, IncidentStatus.Closed),
    };

    public IncidentState Reprioritise(string priority)
    {
        if (!IncidentPriority.IsValid(priority)) throw new ArgumentException($"Unknown priority '{priority}'.", nameof(priority));
        if (Status == IncidentStatus.Closed) throw new IllegalTransitionException(Status, Status);
        return this with { Priority = priority };
    }

    /// <summary>The incident's place changed (the CAD moved the call); not once it is closed.</summary>
    public IncidentState Relocate(string address)
    {
        if (Status == IncidentStatus.Closed) throw new IllegalTransitionException(Status, Status);
        return this with { Address = address };
    }

    public IncidentState AmendDescription(string description)
    {
        if (Status == IncidentStatus.Closed) throw new IllegalTransitionException(Status, Status);
        return this with { Description = description };
    }
}

/// <summary>What a dispatcher or command system supplies to raise an incident.</summary>
public sealed record NewIncident(string Priority, string Title, string Description, string? Address, string? IncidentType = null);
