using Dispatch.Grains.Notifications;

namespace Dispatch.Grains.Incidents;

/// <summary>A new incident as the caller asked for it: its fields, the companies to notify, and (raising from a CAD call) the call to link.</summary>
[GenerateSerializer, Immutable]
public sealed record IncidentDraft(string Priority, string Title, string Description, string? Address, string? IncidentType,
    IReadOnlyList<Guid> CompanyIds, string? TraceParent, Guid? CfsIncidentId = null)
{
    public NewIncident ToNewIncident() => new(Priority, Title, Description, Address, IncidentType);

    /// <summary>Whether <paramref name="existing"/> is what this draft made (a repeated request with the same idempotency key).</summary>
    public bool Made(IncidentState existing) =>
        existing.Priority == Priority && existing.Title == Title && existing.Description == Description && existing.Address == Address
        && existing.IncidentType == IncidentType;
}

/// <summary>
/// A call to raise as an incident, handed to the new incident's grain by the transaction that left it in the incident's inbox
/// (<paramref name="InboxItemId"/>): the grain creates it as the PSAP, leaving out companies it may no longer assign, and removes
/// the item in the same transaction.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record IncidentRaise(Guid InboxItemId, Guid PsapAgencyId, IncidentDraft Draft);

public static class CommandOutcome
{
    public const string Done = "done";

    /// <summary>The same create was already done (same idempotency key, same incident): nothing new happened.</summary>
    public const string Replayed = "replayed";

    public const string NotFound = "not_found";
    public const string Conflict = "conflict";

    /// <summary>One field of the request is wrong (<see cref="IncidentCommandResult.Field"/>).</summary>
    public const string Invalid = "invalid";
}

/// <summary>What an incident command did: an outcome, the field or message that explains a refusal, and an acknowledgement's record.</summary>
[GenerateSerializer, Immutable]
public sealed record IncidentCommandResult(string Outcome, string? Field = null, string? Message = null, Acknowledgement? Acknowledgement = null,
    IncidentDetail? Detail = null)
{
    /// <summary>Done; the incident as the caller sees it, read in the command's own transaction (no second round trip).</summary>
    public static IncidentCommandResult Done(IncidentDetail? detail) => new(CommandOutcome.Done, Detail: detail);
    public static readonly IncidentCommandResult NotFound = new(CommandOutcome.NotFound);

    public static IncidentCommandResult Conflict(string message) => new(CommandOutcome.Conflict, Message: message);

    public static IncidentCommandResult Invalid(string field, string message) => new(CommandOutcome.Invalid, field, message);
}

/// <summary>What linking a CAD call to an incident did: done with the call as linked, not found, or a conflict (linked elsewhere).</summary>
[GenerateSerializer, Immutable]
public sealed record CallLinkResult(string Outcome, string? Message = null, Cfs.CfsIncidentView? Call = null);
