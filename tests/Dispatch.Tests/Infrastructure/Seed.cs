using Dapper;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;
using Npgsql;

namespace Dispatch.Tests.Infrastructure;

/// <summary>Rows written directly as the table owner, for tests that need a world to look at.</summary>
public sealed class Seed(DispatchDatabase database, FieldCipher cipher)
{
    private async Task<NpgsqlConnection> OpenAsync() => await database.Owner.OpenConnectionAsync();

    public async Task<Guid> AgencyAsync(string slug, string type, params Guid[] linkedPsaps)
    {
        await using var c = await OpenAsync();
        var id = await c.ExecuteScalarAsync<Guid>(
            "insert into agencies (name, slug, agency_type) values (@slug, @slug, @type) returning id", new { slug, type });
        foreach (var psap in linkedPsaps)
            await c.ExecuteAsync("insert into agency_links (psap_agency_id, company_agency_id) values (@psap, @id)", new { psap, id });
        return id;
    }

    public async Task<Guid> UserAsync(Guid agencyId, string email, string role = "company-responder")
    {
        await using var c = await OpenAsync();
        return await c.ExecuteScalarAsync<Guid>("""
            insert into users (agency_id, role_id, email, password_hash)
            select @agencyId, id, @email, 'not-a-real-hash' from roles where slug = @role and agency_id is null returning id
            """, new { agencyId, email, role });
    }

    public async Task<Guid> TransportTypeAsync(string slug)
    {
        await using var c = await OpenAsync();
        return await c.ExecuteScalarAsync<Guid>("""
            insert into transport_types (name, slug, platform_config) values (@slug, @slug, @config::jsonb)
            on conflict (slug) do update set name = excluded.name returning id
            """, new { slug, config = cipher.EncryptJson("""{"apiToken":"platform-secret"}""", EncryptedColumns.TransportPlatformConfig.Context) });
    }

    public async Task<Guid> ChannelAsync(Guid agencyId, string name, string configJson)
    {
        var typeId = await TransportTypeAsync("email");
        await using var c = await OpenAsync();
        return await c.ExecuteScalarAsync<Guid>("""
            insert into transport_channels (agency_id, transport_type_id, name, config) values (@agencyId, @typeId, @name, @config::jsonb) returning id
            """, new { agencyId, typeId, name, config = cipher.EncryptJson(configJson, EncryptedColumns.ChannelConfig.Context) });
    }

    public async Task<Guid> IncidentAsync(Guid psapId, string title, string address, params Guid[] companies)
    {
        await using var c = await OpenAsync();
        var id = await c.ExecuteScalarAsync<Guid>("""
            insert into incidents (agency_id, priority, title, address) values (@psapId, 'critical', @title, @address) returning id
            """, new { psapId, title, address = cipher.EncryptText(address, EncryptedColumns.IncidentAddress.Context) });
        foreach (var company in companies)
            await c.ExecuteAsync("insert into incident_agencies (incident_id, agent_agency_id) values (@id, @company)", new { id, company });
        return id;
    }

    /// <summary>A notification for <paramref name="userId"/> with one delivery and one communication entry.</summary>
    public async Task<Guid> NotificationAsync(Guid incidentId, Guid agencyId, Guid userId, Guid channelId, string content)
    {
        await using var c = await OpenAsync();
        var id = await c.ExecuteScalarAsync<Guid>("""
            insert into notifications (incident_id, agency_id, notified_user_id, escalation_due_at)
            values (@incidentId, @agencyId, @userId, now() + interval '5 minutes') returning id
            """, new { incidentId, agencyId, userId });
        var deliveryId = await c.ExecuteScalarAsync<Guid>("""
            insert into notification_deliveries (notification_id, incident_id, agency_id, transport_channel_id, transport_type_slug, next_attempt_at)
            values (@id, @incidentId, @agencyId, @channelId, 'email', now()) returning id
            """, new { id, incidentId, agencyId, channelId });
        await c.ExecuteAsync("""
            insert into incident_communications (incident_id, notification_id, delivery_id, agency_id, communication_type, direction, content,
                                                 receiver_type, receiver_agency_id, receiver_user_id)
            values (@incidentId, @id, @deliveryId, @agencyId, 'notification', 'outbound', @content, 'user', @agencyId, @userId)
            """, new { incidentId, id, deliveryId, agencyId, userId, content = cipher.EncryptText(content, EncryptedColumns.CommunicationContent.Context) });
        return id;
    }
}
