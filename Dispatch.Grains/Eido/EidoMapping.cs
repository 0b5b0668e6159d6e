using System.Text.Json;
using System.Text.Json.Serialization;
using Dispatch.Grains.Incidents;

namespace Dispatch.Grains.Eido;

/// <summary>
/// One rule of an EIDO mapping: incidents whose type (the common registry text, e.g. <c>Fire-Gas</c>, or the PSAP's internal code)
/// is <see cref="Type"/> — or any type, for <c>"*"</c> — are raised at <see cref="Priority"/> (else by the common priority number)
/// and assigned to <see cref="Companies"/>. A rule without companies keeps such calls for a dispatcher to link by hand.
/// </summary>
public sealed record EidoTypeRule(string Type, string? Priority = null, IReadOnlyList<Guid>? Companies = null);

/// <summary>EIDO common priority numbers from <see cref="AtLeast"/> upward become <see cref="Priority"/>; the highest threshold met wins.</summary>
public sealed record EidoPriorityBand(int AtLeast, string Priority);

/// <summary>What an EIDO becomes: the first matching type rule, and the priority it raises at.</summary>
public sealed record EidoDecision(EidoTypeRule? Rule, string? Priority, IReadOnlyList<Guid> Companies)
{
    public bool Raises => Priority is not null && Companies.Count > 0;
}

/// <summary>
/// An EIDO subscription's mapping: which incident types raise an incident, at which priority, assigned to which companies. Types
/// match without regard to case, the first rule that matches wins; a rule's own priority comes before the priority bands, and
/// <see cref="DefaultPriority"/> is used when neither gives one.
/// </summary>
public sealed record EidoMapping(IReadOnlyList<EidoTypeRule>? Rules = null, IReadOnlyList<EidoPriorityBand>? Priorities = null, string? DefaultPriority = null)
{
    public const int MaxRules = 200;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerOptions.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public EidoDecision Decide(string? type, string? typeCode, int? priorityNumber)
    {
        var rule = (Rules ?? []).FirstOrDefault(r => r.Type == "*" || Same(r.Type, type) || Same(r.Type, typeCode));
        var priority = rule?.Priority
            ?? (priorityNumber is { } n ? (Priorities ?? []).Where(b => n >= b.AtLeast).MaxBy(b => b.AtLeast)?.Priority : null)
            ?? DefaultPriority;
        return new EidoDecision(rule, priority, rule?.Companies ?? []);
    }

    private static bool Same(string a, string? b) => b is not null && string.Equals(a.Trim(), b.Trim(), StringComparison.OrdinalIgnoreCase);

    [JsonIgnore]
    public IReadOnlyList<Guid> Companies => (Rules ?? []).SelectMany(r => r.Companies ?? []).Distinct().ToList();

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static EidoMapping FromJson(string json) => JsonSerializer.Deserialize<EidoMapping>(json, Json) ?? new EidoMapping();

    /// <summary>Everything wrong, by JSON path, for a 400 problem.</summary>
    public IReadOnlyList<(string Field, string Message)> Validate()
    {
        var errors = new List<(string, string)>();
        var priorities = string.Join(", ", IncidentPriority.All);
        if (Rules is { Count: > MaxRules }) errors.Add(("mapping.rules", $"At most {MaxRules} rules."));
        for (var i = 0; i < (Rules?.Count ?? 0); i++)
        {
            var rule = Rules![i];
            if (rule is null || string.IsNullOrWhiteSpace(rule.Type) || rule.Type.Length > 200)
                errors.Add(($"mapping.rules[{i}].type", "type is an incident type (1 to 200 characters) or \"*\" for any."));
            if (rule?.Priority is { } p && !IncidentPriority.IsValid(p))
                errors.Add(($"mapping.rules[{i}].priority", $"priority is one of: {priorities}."));
            if (rule?.Companies is { Count: > 50 }) errors.Add(($"mapping.rules[{i}].companies", "At most 50 companies per rule."));
        }
        for (var i = 0; i < (Priorities?.Count ?? 0); i++)
            if (Priorities![i] is not { } band || !IncidentPriority.IsValid(band.Priority))
                errors.Add(($"mapping.priorities[{i}].priority", $"priority is one of: {priorities}."));
        if (Priorities is { Count: > 0 } bands && bands.Where(b => b is not null).GroupBy(b => b.AtLeast).Any(g => g.Count() > 1))
            errors.Add(("mapping.priorities", "Each atLeast appears once."));
        if (DefaultPriority is not null && !IncidentPriority.IsValid(DefaultPriority))
            errors.Add(("mapping.defaultPriority", $"defaultPriority is one of: {priorities}."));
        return errors;
    }
}
