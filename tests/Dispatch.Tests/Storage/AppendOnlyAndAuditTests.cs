using System.Text.Json;
using Dapper;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;
using Dispatch.Tests.Infrastructure;
using Npgsql;

namespace Dispatch.Tests.Storage;

public sealed class AppendOnlyAndAuditTests : TestDatabase
{
    private async Task<(DispatchDatabase Database, Guid Psap, Guid Incident)> WorldAsync()
    {
        var database = await MigratedAsync();
        var seed = new Seed(database, new FieldCipher(Keys));
        var psap = await seed.AgencyAsync("metro", "psap");
        var company = await seed.AgencyAsync("gasco", "company", psap);
        var user = await seed.UserAsync(company, "crew@gasco.example");
        var channel = await seed.ChannelAsync(company, "mail", "{}");
        var incident = await seed.IncidentAsync(psap, "Leak", "1 Main St", company);
        await seed.NotificationAsync(incident, company, user, channel, "hello");
        await using var c = await database.Owner.OpenConnectionAsync();
        await c.ExecuteAsync("insert into audit_logs (agency_id, action, entity_type) values (@psap, 'test.seeded', 'test')", new { psap });
        return (database, psap, incident);
    }

    public static TheoryData<string> Changes => new()
    {
        "update incident_communications set direction = 'inbound'",
        "delete from incident_communications",
        "truncate incident_communications cascade",
        "update audit_logs set action = 'forged'",
        "delete from audit_logs",
        "truncate audit_logs",
    };

    [Theory]
    [MemberData(nameof(Changes))]
    public async Task The_logs_refuse_change_even_from_the_table_owner(string sql)
    {
        var (database, psap, _) = await WorldAsync();
        await using var owner = await database.Owner.OpenConnectionAsync();
        await using var engine = await database.Engine.OpenConnectionAsync();
        await using var app = await new DispatchStore(database, new FieldCipher(Keys)).BeginAsync(new AgencyContext(psap));

        var asOwner = await Assert.ThrowsAsync<PostgresException>(() => owner.ExecuteAsync(sql));
        var asEngine = await Assert.ThrowsAsync<PostgresException>(() => engine.ExecuteAsync(sql));
        var asApp = await Assert.ThrowsAsync<PostgresException>(() => app.ExecuteAsync(sql));

        Assert.Contains("append-only", asOwner.MessageText);
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, asEngine.SqlState);
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, asApp.SqlState);
        Assert.Equal(1, await owner.ExecuteScalarAsync<int>("select count(*) from incident_communications"));
        Assert.Equal(1, await owner.ExecuteScalarAsync<int>("select count(*) from audit_logs"));
    }

    [Fact]
    public async Task Re_encryption_may_rewrite_only_the_content_of_a_communication()
    {
        var (database, _, _) = await WorldAsync();
        await using var owner = await database.Owner.OpenConnectionAsync();
        await using var tx = await owner.BeginTransactionAsync();
        await owner.ExecuteAsync("select set_config('dispatch.reencrypting', 'on', true)", transaction: tx);

        Assert.Equal(1, await owner.ExecuteAsync("update incident_communications set content = content || '\\x00'::bytea", transaction: tx));
        await Assert.ThrowsAsync<PostgresException>(() => owner.ExecuteAsync("update incident_communications set direction = 'inbound'", transaction: tx));
    }

    [Fact]
    public async Task A_change_and_its_audit_row_commit_together_with_secrets_redacted()
    {
        var (database, psap, _) = await WorldAsync();
        var store = StoreFor(database);
        var user = Guid.NewGuid();

        IncidentState created;
        await using (var scope = await store.BeginAsync(new AgencyContext(psap, UserId: null)))
        {
            created = await IncidentStore.CreateAsync(scope, Guid.CreateVersion7(), new NewIncident("critical", "Pipeline rupture", "", "99 Secret Lane"), DateTimeOffset.UtcNow);
            await scope.AuditAsync("channel.updated", "transport_channel", Guid.NewGuid(),
                new { Name = "mail", Config = new { Host = "smtp", Password = "hunter2hunter2" } },
                new { Name = "mail2", SmtpPassword = "s3cret-s3cret", TokenHash = "abc", ApiKeyId = user, Nested = new[] { new { ClientSecret = "zzz" } } });
            await scope.CommitAsync();
        }
        await using (var rolledBack = await store.BeginAsync(new AgencyContext(psap)))
        {
            await IncidentStore.CreateAsync(rolledBack, Guid.CreateVersion7(), new NewIncident("critical", "Never committed", "", null), DateTimeOffset.UtcNow);
        }

        await using var owner = await database.Owner.OpenConnectionAsync();
        var rows = (await owner.QueryAsync<(string Action, Guid? EntityId, string? Before, string? After)>(
            "select action, entity_id, before::text, after::text from audit_logs where action <> 'test.seeded' order by created_at")).ToList();
        Assert.Equal(["incident.created", "channel.updated"], rows.Select(r => r.Action));
        Assert.Equal(created.Id, rows[0].EntityId);
        var everything = string.Join('\n', rows.Select(r => r.Before + r.After));
        foreach (var secret in new[] { "99 Secret Lane", "hunter2hunter2", "s3cret-s3cret", "\"abc\"", "zzz" })
            Assert.DoesNotContain(secret, everything);
        using var after = JsonDocument.Parse(rows[1].After!);
        Assert.Equal("mail2", after.RootElement.GetProperty("name").GetString());
        Assert.Equal(user, after.RootElement.GetProperty("api_key_id").GetGuid());
        Assert.Equal(AuditLog.Redacted, after.RootElement.GetProperty("smtp_password").GetString());
        using var incident = JsonDocument.Parse(rows[0].After!);
        Assert.Equal("Pipeline rupture", incident.RootElement.GetProperty("title").GetString());
        Assert.Equal(AuditLog.Redacted, incident.RootElement.GetProperty("address").GetString());
    }
}
