using System.Text.Json;
using Dispatch.Grains.Storage;

namespace Dispatch.Grains.Escalation;

/// <summary>One tier of an escalation order: named users and/or every active user holding one of the roles.</summary>
public sealed record EscalationTier(IReadOnlyList<Guid>? UserIds, IReadOnlyList<string>? RoleSlugs);

public sealed record EscalationRule(Guid Id, Guid AgencyId, string[]? PriorityFilter, int AckTimeoutSeconds, IReadOnlyList<EscalationTier> EscalationOrder,
    IReadOnlyList<Guid> NotifyPsapUserIds, int RepeatCount, bool IsActive, int Version);

public sealed record EscalationRuleChanges(string[]? PriorityFilter, int AckTimeoutSeconds, IReadOnlyList<EscalationTier> EscalationOrder,
    IReadOnlyList<Guid> NotifyPsapUserIds, int RepeatCount, bool IsActive);

/// <summary>A rule whose priorities overlap another active rule of the same company.</summary>
public sealed class OverlappingRuleException(Guid other) : Exception($"Another active escalation rule ({other}) already covers some of these priorities.");

/// <summary>
/// A company's escalation rules. At most one active rule covers each priority (a rule without a filter covers all),
/// enforced when rules are written, so exactly one or none applies to an incident: there are no ties to resolve.
/// </summary>
public static class EscalationRules
{
    public const int MinimumAckTimeoutSeconds = 30;
    private static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    private const string Select = """
        select id, agency_id, priority_filter, ack_timeout_seconds, escalation_order::text as escalation_order,
               notify_psap_user_ids::text as notify_psap_user_ids, repeat_count, is_active, version
        from escalation_rules
        """;

    public static async Task<IReadOnlyList<EscalationRule>> ListAsync(StoreScope scope, Guid agencyId) =>
        (await scope.QueryAsync<Row>($"{Select} where agency_id = @agencyId order by created_at", new { agencyId })).Select(r => r.ToRule()).ToList();

    public static async Task<EscalationRule?> GetAsync(StoreScope scope, Guid id) =>
        (await scope.QuerySingleOrDefaultAsync<Row>($"{Select} where id = @id", new { id }))?.ToRule();

    /// <summary>The active rule covering <paramref name="priority"/> for <paramref name="agencyId"/>, if any.</summary>
    public static async Task<EscalationRule?> ForPriorityAsync(StoreScope scope, Guid agencyId, string priority) =>
        (await scope.QuerySingleOrDefaultAsync<Row>(
            $"{Select} where agency_id = @agencyId and is_active and (priority_filter is null or @priority = any(priority_filter)) limit 1",
            new { agencyId, priority }))?.ToRule();

    /// <returns>How many of <paramref name="userIds"/> are active users of a PSAP the scope's company works with.</returns>
    public static Task<int> CountLinkedPsapUsersAsync(AgencyScope scope, IReadOnlyList<Guid> userIds) =>
        scope.ExecuteScalarAsync<int>("select dispatch_count_linked_psap_users(@ids)", new { ids = userIds.Distinct().ToArray() });

    public static async Task<EscalationRule> SaveAsync(AgencyScope scope, Guid? id, EscalationRuleChanges rule, DateTimeOffset now)
    {
        var agency = scope.Context.AgencyId;
        if (rule.IsActive && await scope.ExecuteScalarAsync<Guid?>("""
                select id from escalation_rules
                where agency_id = @agency and is_active and id <> coalesce(@id, '00000000-0000-0000-0000-000000000000'::uuid)
                  and (priority_filter is null or @filter::text[] is null or priority_filter && @filter::text[])
                limit 1
                """, new { agency, id, filter = rule.PriorityFilter }) is { } other)
            throw new OverlappingRuleException(other);
        var before = id is null ? null : await GetAsync(scope, id.Value);
        var ruleId = id ?? Guid.CreateVersion7();
        await scope.ExecuteAsync("""
            insert into escalation_rules (id, agency_id, priority_filter, ack_timeout_seconds, escalation_order, notify_psap_user_ids, repeat_count,
                                          is_active, created_at, updated_at)
            values (@ruleId, @agency, @PriorityFilter, @AckTimeoutSeconds, @order::jsonb, @psap::jsonb, @RepeatCount, @IsActive, @now, @now)
            on conflict (id) do update set priority_filter = excluded.priority_filter, ack_timeout_seconds = excluded.ack_timeout_seconds,
                escalation_order = excluded.escalation_order, notify_psap_user_ids = excluded.notify_psap_user_ids,
                repeat_count = excluded.repeat_count, is_active = excluded.is_active, version = escalation_rules.version + 1, updated_at = excluded.updated_at
            """, new
        {
            ruleId, agency, rule.PriorityFilter, rule.AckTimeoutSeconds, order = JsonSerializer.Serialize(rule.EscalationOrder, Json),
            psap = JsonSerializer.Serialize(rule.NotifyPsapUserIds, Json), rule.RepeatCount, rule.IsActive, now,
        });
        var after = (await GetAsync(scope, ruleId))!;
        await scope.AuditAsync(before is null ? "escalation_rule.created" : "escalation_rule.updated", "escalation_rule", ruleId, before, after);
        return after;
    }

    public static async Task<bool> DeleteAsync(AgencyScope scope, Guid id)
    {
        var before = await GetAsync(scope, id);
        if (before is null || before.AgencyId != scope.Context.AgencyId) return false;
        await scope.ExecuteAsync("delete from escalation_rules where id = @id", new { id });
        await scope.AuditAsync("escalation_rule.deleted", "escalation_rule", id, before, null);
        return true;
    }

    private sealed class Row
    {
        public Guid Id { get; set; }
        public Guid AgencyId { get; set; }
        public string[]? PriorityFilter { get; set; }
        public int AckTimeoutSeconds { get; set; }
        public string EscalationOrder { get; set; } = "[]";
        public string NotifyPsapUserIds { get; set; } = "[]";
        public int RepeatCount { get; set; }
        public bool IsActive { get; set; }
        public int Version { get; set; }

        public EscalationRule ToRule() => new(Id, AgencyId, PriorityFilter, AckTimeoutSeconds,
            JsonSerializer.Deserialize<List<EscalationTier>>(EscalationOrder, Json) ?? [],
            JsonSerializer.Deserialize<List<Guid>>(NotifyPsapUserIds, Json) ?? [], RepeatCount, IsActive, Version);
    }
}
