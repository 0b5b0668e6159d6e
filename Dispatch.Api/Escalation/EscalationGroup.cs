using FastEndpoints;

namespace Dispatch.Api.Escalation;

/// <summary><c>/api/v1/escalation-rules</c>: who is told, tier after tier, when nobody acknowledges in time.</summary>
public sealed class EscalationGroup : Group
{
    public EscalationGroup() => Configure("/api/v1/escalation-rules", ep => ep.Description(d => d.WithTags("Escalation")));
}
