using System.Text.Json;
using Dispatch.Grains.Storage;

namespace Dispatch.Grains.Escalation;

/// <summary>One tier of an escalation order: named users and/or every active user holding one of the roles.</summary>
[GenerateSerializer, Immutable]
public sealed record EscalationTier(IReadOnlyList<Guid>? UserIds, IReadOnlyList<string>? RoleSlugs);

[GenerateSerializer, Immutable]
public sealed record EscalationRule(Guid Id, Guid AgencyId, string[]? PriorityFilter, int AckTimeoutSeconds, IReadOnlyList<EscalationTier> EscalationOrder,
    IReadOnlyList<Guid> NotifyPsapUserIds, int RepeatCount, bool IsActive, int Version);

[GenerateSerializer, Immutable]
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

    /// <returns>How many of <paramref name="userIds"/> are active users of a PSAP the scope's company works with.</returns>
    public static Task<int> CountLinkedPsapUsersAsync(AgencyScope scope, IReadOnlyList<Guid> userIds) =>
        scope.ExecuteScalarAsync<int>("select dispatch_count_linked_psap_users(@ids)", new { ids = userIds.Distinct().ToArray() });

    /// <summary>
    /// Field errors for what a rule names that is not there: tier users who are not active users of the company, roles it does not
    /// have, PSAP users of a PSAP it does not work with.
    /// </summary>
    public static async Task<Dictionary<string, string[]>> CheckReferencesAsync(AgencyScope scope, EscalationRuleChanges rule)
    {
        var errors = new Dictionary<string, List<string>>();
        void Check(bool ok, string field, string message)
        {
            if (!ok) (errors.TryGetValue(field, out var list) ? list : errors[field] = []).Add(message);
        }
        var tierUsers = rule.EscalationOrder.SelectMany(t => t.UserIds ?? []).Distinct().ToArray();
        var known = await scope.ExecuteScalarAsync<int>("select count(*) from users where id = any(@tierUsers) and is_active", new { tierUsers });
        Check(known == tierUsers.Length, "escalationOrder", "every user in a tier is an active user of this company.");
        var roles = (await Identity.Roles.ListAsync(scope)).Select(r => r.Slug).ToHashSet();
        Check(rule.EscalationOrder.SelectMany(t => t.RoleSlugs ?? []).All(roles.Contains), "escalationOrder", "every role in a tier is one of this company's roles.");
        var psapUsers = rule.NotifyPsapUserIds.Distinct().ToList();
        Check(await CountLinkedPsapUsersAsync(scope, psapUsers) == psapUsers.Count, "notifyPsapUserIds",
            "every id is an active user of a PSAP this company works with.");
        return errors.ToDictionary(e => e.Key, e => e.Value.ToArray());
    }

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

/// <summary>A PSAP user a company may name in its rules: who, and of which PSAP (names only).</summary>
public sealed record LinkedPsapUser(Guid UserId, Guid AgencyId, string AgencyName, string Name);

/// <summary>The PSAP users a company may ask to be alerted (active users of the PSAPs it works with).</summary>
public static class LinkedPsapUsers
{
    public static async Task<IReadOnlyList<LinkedPsapUser>> ListAsync(Storage.AgencyScope scope) =>
        (await scope.QueryAsync<(Guid UserId, Guid AgencyId, string AgencyName, string FirstName, string LastName)>(
            "select user_id, agency_id, agency_name, first_name, last_name from dispatch_linked_psap_users() order by agency_name, last_name, first_name"))
        .Select(u => new LinkedPsapUser(u.UserId, u.AgencyId, u.AgencyName, $"{u.FirstName} {u.LastName}".Trim()))
        .ToList();
}
