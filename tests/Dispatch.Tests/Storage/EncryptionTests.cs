using System.Security.Cryptography;
using System.Text;
using Dapper;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;
using Dispatch.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Dispatch.Tests.Storage;

public sealed class EncryptionTests : TestDatabase
{
    private const string Marker = "742 Evergreen Terrace";

    /// <summary>One row per encrypted column, each holding <see cref="Marker"/>.</summary>
    private static async Task WriteEveryEncryptedColumnAsync(DispatchDatabase database, FieldCipher cipher)
    {
        var seed = new Seed(database, cipher);
        var psap = await seed.AgencyAsync("psap-" + Guid.NewGuid().ToString("N")[..6], "psap");
        var company = await seed.AgencyAsync("co-" + Guid.NewGuid().ToString("N")[..6], "company", psap);
        var user = await seed.UserAsync(company, $"u{Guid.NewGuid():N}@example.org");
        var channel = await seed.ChannelAsync(company, "ops mail", $$"""{"to":"{{Marker}}","password":"smtp-pass"}""");
        var incident = await seed.IncidentAsync(psap, "Gas leak", Marker, company);
        await seed.NotificationAsync(incident, company, user, channel, $"Gas leak at {Marker}");

        await using var c = await database.Owner.OpenConnectionAsync();
        await c.ExecuteAsync("""
            insert into user_transport_preferences (user_id, transport_channel_id, config_override) values (@user, @channel, @json::jsonb);
            insert into command_connections (psap_agency_id, api_key_hash, api_key_prefix, callback_secret)
                values (@psap, 'hash', @prefix, @secret);
            insert into cfs_configurations (agency_id, inbox_path) values (@psap, '/tmp/in');
            insert into cfs_incidents (cfs_configuration_id, external_cfs_id, raw_xml, narrative, extra)
                select id, 'CFS-1', @xml, @narrative::jsonb, @extra::jsonb from cfs_configurations where agency_id = @psap;
            update transport_types set platform_config = @platform::jsonb;
            insert into eido_subscriptions (agency_id, name, notifier_url, credentials) values (@psap, 'NG9-1-1', 'wss://notifier.example/ent', @eido::jsonb);
            """, new
        {
            user, channel, psap,
            prefix = Guid.NewGuid().ToString("N")[..8],
            json = cipher.EncryptJson($$"""{"to":"{{Marker}}"}""", EncryptedColumns.PreferenceConfigOverride.Context),
            secret = cipher.EncryptText(Marker, EncryptedColumns.CallbackSecret.Context),
            xml = cipher.EncryptText($"<call><addr>{Marker}</addr></call>", EncryptedColumns.CfsRawXml.Context),
            narrative = cipher.EncryptJson($$"""[{"text":"caller {{Marker}} says"}]""", EncryptedColumns.CfsNarrative.Context),
            extra = cipher.EncryptJson($$"""{"beat":"{{Marker}}"}""", EncryptedColumns.CfsExtra.Context),
            platform = cipher.EncryptJson($$"""{"botToken":"{{Marker}}"}""", EncryptedColumns.TransportPlatformConfig.Context),
            eido = cipher.EncryptJson($$"""{"authorization":"Bearer {{Marker}}"}""", EncryptedColumns.EidoCredentials.Context),
        });
    }

    private static async Task<List<(EncryptedColumn Column, string Raw, string KeyId, string Plain)>> ReadAllAsync(
        DispatchDatabase database, FieldCipher cipher)
    {
        var rows = new List<(EncryptedColumn, string, string, string)>();
        await using var c = await database.Owner.OpenConnectionAsync();
        foreach (var column in EncryptedColumns.All)
        {
            if (column.Kind == EncryptedKind.Json)
                foreach (var envelope in await c.QueryAsync<string>($"select {column.Column}::text from {column.Table} where {column.Column} is not null"))
                    rows.Add((column, envelope, FieldCipher.KeyIdOfEnvelope(envelope), cipher.DecryptJson(envelope, column.Context)!));
            else
                foreach (var blob in await c.QueryAsync<byte[]>($"select {column.Column} from {column.Table} where {column.Column} is not null"))
                    rows.Add((column, Encoding.Latin1.GetString(blob) + Convert.ToHexString(blob), FieldCipher.KeyIdOf(blob),
                        cipher.DecryptText(blob, column.Context)!));
        }
        return rows;
    }

    [Fact]
    public async Task Raw_rows_of_every_encrypted_column_hold_no_plain_text()
    {
        await using var database = await MigratedAsync();
        var cipher = new FieldCipher(Keys);
        await WriteEveryEncryptedColumnAsync(database, cipher);

        var rows = await ReadAllAsync(database, cipher);

        Assert.Equal(EncryptedColumns.All.Select(c => c.Context).Order(), rows.Select(r => r.Column.Context).Distinct().Order());
        Assert.All(rows, r => Assert.Contains(Marker, r.Plain));
        Assert.All(rows, r => Assert.DoesNotContain(Marker, r.Raw));
        Assert.All(rows, r => Assert.DoesNotContain("smtp-pass", r.Raw));
        // and as the database renders it to anyone with SQL access
        await using var c = await database.Owner.OpenConnectionAsync();
        var dump = string.Join('\n', await c.QueryAsync<string>("""
            select row_to_json(t)::text from (
                select address::text as a from incidents union all select config::text from transport_channels
                union all select content::text from incident_communications union all select raw_xml::text from cfs_incidents) t
            """));
        Assert.DoesNotContain("Evergreen", dump);
    }

    [Fact]
    public async Task The_store_encrypts_an_incident_address_and_reads_it_back()
    {
        await using var database = await MigratedAsync();
        var psap = await new Seed(database, new FieldCipher(Keys)).AgencyAsync("metro", "psap");
        var store = StoreFor(database);

        IncidentState created;
        await using (var scope = await store.BeginAsync(new AgencyContext(psap)))
        {
            created = await IncidentStore.CreateAsync(scope, Guid.CreateVersion7(), new NewIncident("irod", "Fire", "", Marker), DateTimeOffset.UtcNow);
            await scope.CommitAsync();
        }

        await using var read = await store.BeginAsync(new AgencyContext(psap));
        Assert.Equal(Marker, (await IncidentStore.GetAsync(read, created.Id))!.Address);
        await using var c = await database.Owner.OpenConnectionAsync();
        var raw = await c.ExecuteScalarAsync<byte[]>("select address from incidents where id = @Id", new { created.Id });
        Assert.DoesNotContain(Marker, Encoding.UTF8.GetString(raw!));
        Assert.Equal(Keys.ActiveKeyId, FieldCipher.KeyIdOf(raw));
    }

    [Fact]
    public async Task After_rotation_old_rows_stay_readable_and_reencryption_moves_every_row_to_the_new_key()
    {
        await using var database = await MigratedAsync();
        var keyA = Keys;
        await WriteEveryEncryptedColumnAsync(database, new FieldCipher(keyA));

        var keyB = keyA.Rotate("test-b");
        var cipherB = new FieldCipher(keyB);
        var beforeReencryption = await ReadAllAsync(database, cipherB);
        Assert.All(beforeReencryption, r => Assert.Equal("test-a", r.KeyId));
        Assert.All(beforeReencryption, r => Assert.Contains(Marker, r.Plain));
        await WriteEveryEncryptedColumnAsync(database, cipherB); // new writes use B at once
        var mixed = await ReadAllAsync(database, cipherB);
        Assert.Contains(mixed, r => r.KeyId == "test-b");

        var moved = await new Reencryptor(database, cipherB, NullLogger<Reencryptor>.Instance).RunAsync();

        Assert.Equal(mixed.Count(r => r.KeyId == "test-a"), moved.Values.Sum());
        var onlyB = new FieldCipher(new KeyRing("test-b", new Dictionary<string, byte[]> { ["test-b"] = keyB.Key("test-b") }));
        var after = await ReadAllAsync(database, onlyB);
        Assert.Equal(mixed.Count, after.Count);
        Assert.All(after, r => Assert.Equal("test-b", r.KeyId));
        Assert.All(after, r => Assert.Contains(Marker, r.Plain));
        Assert.Equal(0, (await new Reencryptor(database, cipherB, NullLogger<Reencryptor>.Instance).RunAsync()).Values.Sum());
    }

    [Fact]
    public void A_ciphertext_moved_to_another_column_or_altered_does_not_decrypt()
    {
        var cipher = new FieldCipher(Keys);
        var blob = cipher.EncryptText(Marker, EncryptedColumns.IncidentAddress.Context)!;

        Assert.ThrowsAny<CryptographicException>(() => cipher.DecryptText(blob, EncryptedColumns.CommunicationContent.Context));
        blob[^1] ^= 1;
        Assert.ThrowsAny<CryptographicException>(() => cipher.DecryptText(blob, EncryptedColumns.IncidentAddress.Context));
    }

    [Fact]
    public void A_value_under_an_unknown_key_names_the_missing_key()
    {
        var blob = new FieldCipher(KeyRing.Generate("retired")).EncryptText(Marker, "incidents.address")!;

        var error = Assert.ThrowsAny<CryptographicException>(() => new FieldCipher(Keys).DecryptText(blob, "incidents.address"));

        Assert.Contains("retired", error.Message);
    }
}
