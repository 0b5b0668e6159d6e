using System.Text.Json;
using System.Text.Json.Nodes;
using Dispatch.Grains.Identity;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;

namespace Dispatch.Grains.Transports;

public sealed record TransportType(Guid Id, string Name, string Slug, bool SupportsInboundAck, JsonObject ConfigSchema);

/// <summary>A channel as shown to its agency: configuration with secrets replaced by <c>[redacted]</c>.</summary>
[GenerateSerializer, Immutable]
public sealed record TransportChannel(Guid Id, Guid AgencyId, Guid TransportTypeId, string TransportTypeSlug, string Name, JsonObject Config,
    bool IsActive, DateTimeOffset CreatedAt, int Version);

[GenerateSerializer, Immutable]
public sealed record NotificationRule(Guid Id, Guid AgencyId, Guid TransportChannelId, string[]? PriorityFilter, string[]? TypeFilter,
    TimeOnly? TimeStart, TimeOnly? TimeEnd, bool IsActive, int Version);

[GenerateSerializer, Immutable]
public sealed record TransportPreference(Guid Id, Guid UserId, Guid TransportChannelId, int PriorityOrder, string DeliveryMode, JsonObject? ConfigOverride);

/// <summary>A company's channels, notification rules and its users' preferences; every change audited in its transaction.</summary>
public static class TransportConfiguration
{
    public static JsonObject Redacted(JsonObject config)
    {
        var copy = config.DeepClone().AsObject();
        foreach (var (key, value) in copy.ToList())
            if (value is not null && AuditLog.IsSensitive(key) && key is not "to") copy[key] = AuditLog.Redacted;
        return copy;
    }

    public static async Task<IReadOnlyList<TransportType>> TypesAsync(StoreScope scope) =>
        (await scope.QueryAsync<(Guid Id, string Name, string Slug, bool SupportsInboundAck, string Schema)>(
            "select id, name, slug, supports_inbound_ack, config_schema::text from transport_types order by slug"))
        .Select(t => new TransportType(t.Id, t.Name, t.Slug, t.SupportsInboundAck, JsonNode.Parse(t.Schema)!.AsObject())).ToList();

    // Channels

    private const string SelectChannel = """
        select c.id, c.agency_id, c.transport_type_id, t.slug, c.name, c.config::text as config, c.is_active, c.created_at, c.version
        from transport_channels c join transport_types t on t.id = c.transport_type_id
        """;

    public static async Task<IReadOnlyList<TransportChannel>> ChannelsAsync(AgencyScope scope) =>
        (await scope.QueryAsync<ChannelRow>($"{SelectChannel} order by c.name")).Select(r => r.ToChannel(scope.Cipher)).ToList();

    public static async Task<TransportChannel?> ChannelAsync(AgencyScope scope, Guid id) =>
        (await scope.QuerySingleOrDefaultAsync<ChannelRow>($"{SelectChannel} where c.id = @id", new { id }))?.ToChannel(scope.Cipher);

    public static async Task<TransportChannel> CreateChannelAsync(AgencyScope scope, string slug, string name, JsonObject config, DateTimeOffset now)
    {
        var id = Guid.CreateVersion7();
        await scope.ExecuteAsync("""
            insert into transport_channels (id, agency_id, transport_type_id, name, config, created_at, updated_at)
            select @id, @agency, t.id, @name, @config::jsonb, @now, @now from transport_types t where t.slug = @slug
            """, new { id, agency = scope.Context.AgencyId, name, slug, now,
            config = scope.Cipher.EncryptJson(config.ToJsonString(), EncryptedColumns.ChannelConfig.Context) });
        var created = (await ChannelAsync(scope, id))!;
        await scope.AuditAsync("transport_channel.created", "transport_channel", id, null, created);
        return created;
    }

    /// <summary>Applies a change; secret fields sent as <c>[redacted]</c> (or left out) keep their stored value.</summary>
    public static async Task<TransportChannel?> UpdateChannelAsync(AgencyScope scope, Guid id, string? name, JsonObject? config, bool? isActive,
        DateTimeOffset now, Func<string, JsonObject, Task<Dictionary<string, string[]>>> validate)
    {
        var row = await scope.QuerySingleOrDefaultAsync<ChannelRow>($"{SelectChannel} where c.id = @id", new { id });
        if (row is null) return null;
        var before = row.ToChannel(scope.Cipher);
        string? encrypted = null;
        if (config is not null)
        {
            var stored = scope.Cipher.DecryptJsonObject(row.Config, EncryptedColumns.ChannelConfig)!;
            var merged = config.DeepClone().AsObject();
            foreach (var (key, value) in stored)
                if (AuditLog.IsSensitive(key) && (!merged.ContainsKey(key) || (merged[key] is JsonValue v && v.TryGetValue<string>(out var text) && text == AuditLog.Redacted)))
                    merged[key] = value?.DeepClone();
            var errors = await validate(row.Slug, merged);
            if (errors.Count > 0) throw new ChannelConfigException(errors);
            encrypted = scope.Cipher.EncryptJson(merged.ToJsonString(), EncryptedColumns.ChannelConfig.Context);
        }
        await scope.ExecuteAsync("""
            update transport_channels set name = coalesce(@name, name), config = coalesce(@encrypted::jsonb, config),
                is_active = coalesce(@isActive, is_active), version = version + 1, updated_at = @now
            where id = @id
            """, new { name, encrypted, isActive, now, id });
        var after = await ChannelAsync(scope, id);
        await scope.AuditAsync("transport_channel.updated", "transport_channel", id, before, after);
        return after;
    }

    // Rules

    private const string SelectRule = """
        select id, agency_id, transport_channel_id, priority_filter, type_filter, time_start, time_end, is_active, version from notification_rules
        """;

    public static async Task<IReadOnlyList<NotificationRule>> RulesAsync(AgencyScope scope) =>
        (await scope.QueryAsync<RuleRow>($"{SelectRule} order by created_at")).Select(r => r.ToRule()).ToList();

    public static async Task<NotificationRule?> RuleAsync(AgencyScope scope, Guid id) =>
        (await scope.QuerySingleOrDefaultAsync<RuleRow>($"{SelectRule} where id = @id", new { id }))?.ToRule();

    public static async Task<NotificationRule> SaveRuleAsync(AgencyScope scope, Guid? id, Guid channelId, string[]? priorities, string[]? types,
        TimeOnly? start, TimeOnly? end, bool isActive, DateTimeOffset now)
    {
        if (!await scope.ExecuteScalarAsync<bool>("select exists (select 1 from transport_channels where id = @channelId)", new { channelId }))
            throw new UnknownReferenceException("transportChannelId", "No such channel in this agency.");
        var before = id is null ? null : await RuleAsync(scope, id.Value);
        var ruleId = id ?? Guid.CreateVersion7();
        await scope.ExecuteAsync("""
            insert into notification_rules (id, agency_id, transport_channel_id, priority_filter, type_filter, time_start, time_end, is_active, created_at, updated_at)
            values (@ruleId, @agency, @channelId, @priorities, @types, @start, @end, @isActive, @now, @now)
            on conflict (id) do update set transport_channel_id = excluded.transport_channel_id, priority_filter = excluded.priority_filter,
                type_filter = excluded.type_filter, time_start = excluded.time_start, time_end = excluded.time_end, is_active = excluded.is_active,
                version = notification_rules.version + 1, updated_at = excluded.updated_at
            """, new { ruleId, agency = scope.Context.AgencyId, channelId, priorities, types, start, end, isActive, now });
        var after = (await RuleAsync(scope, ruleId))!;
        await scope.AuditAsync(before is null ? "notification_rule.created" : "notification_rule.updated", "notification_rule", ruleId, before, after);
        return after;
    }

    public static async Task<bool> DeleteRuleAsync(AgencyScope scope, Guid id)
    {
        var before = await RuleAsync(scope, id);
        if (before is null) return false;
        await scope.ExecuteAsync("delete from notification_rules where id = @id", new { id });
        await scope.AuditAsync("notification_rule.deleted", "notification_rule", id, before, null);
        return true;
    }

    // Preferences

    public static async Task<IReadOnlyList<TransportPreference>> PreferencesAsync(AgencyScope scope, Guid userId) =>
        (await scope.QueryAsync<(Guid Id, Guid UserId, Guid ChannelId, int PriorityOrder, string DeliveryMode, string? Override)>("""
            select id, user_id, transport_channel_id, priority_order, delivery_mode, config_override::text
            from user_transport_preferences where user_id = @userId order by priority_order
            """, new { userId }))
        .Select(p => new TransportPreference(p.Id, p.UserId, p.ChannelId, p.PriorityOrder, p.DeliveryMode,
            scope.Cipher.DecryptJsonObject(p.Override, EncryptedColumns.PreferenceConfigOverride)))
        .ToList();

    /// <summary>Replaces a user's preferences with <paramref name="preferences"/> (channel, order, mode, override).</summary>
    public static async Task<IReadOnlyList<TransportPreference>> ReplacePreferencesAsync(AgencyScope scope, Guid userId,
        IReadOnlyList<(Guid ChannelId, int Order, string Mode, JsonObject? Override)> preferences, DateTimeOffset now)
    {
        var before = await PreferencesAsync(scope, userId);
        await scope.ExecuteAsync("delete from user_transport_preferences where user_id = @userId", new { userId });
        foreach (var p in preferences)
            await scope.ExecuteAsync("""
                insert into user_transport_preferences (user_id, transport_channel_id, priority_order, delivery_mode, config_override, created_at, updated_at)
                values (@userId, @ChannelId, @Order, @Mode, @Override::jsonb, @now, @now)
                """, new { userId, p.ChannelId, p.Order, p.Mode, now,
                Override = scope.Cipher.EncryptJson(p.Override?.ToJsonString(), EncryptedColumns.PreferenceConfigOverride.Context) });
        var after = await PreferencesAsync(scope, userId);
        await scope.AuditAsync("transport_preferences.replaced", "user", userId, before, after);
        return after;
    }

    private sealed record ChannelRow(Guid Id, Guid AgencyId, Guid TransportTypeId, string Slug, string Name, string Config, bool IsActive,
        DateTime CreatedAt, int Version)
    {
        public TransportChannel ToChannel(FieldCipher cipher) => new(Id, AgencyId, TransportTypeId, Slug, Name,
            Redacted(cipher.DecryptJsonObject(Config, EncryptedColumns.ChannelConfig)!), IsActive, Time.Utc(CreatedAt), Version);
    }

    private sealed class RuleRow
    {
        public Guid Id { get; set; }
        public Guid AgencyId { get; set; }
        public Guid TransportChannelId { get; set; }
        public string[]? PriorityFilter { get; set; }
        public string[]? TypeFilter { get; set; }
        public TimeOnly? TimeStart { get; set; }
        public TimeOnly? TimeEnd { get; set; }
        public bool IsActive { get; set; }
        public int Version { get; set; }

        public NotificationRule ToRule() => new(Id, AgencyId, TransportChannelId, PriorityFilter, TypeFilter, TimeStart, TimeEnd, IsActive, Version);
    }
}

public sealed class ChannelConfigException(Dictionary<string, string[]> errors) : Exception("Invalid channel configuration.")
{
    public Dictionary<string, string[]> Errors { get; } = errors;
}
