using Dapper;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;
using Dispatch.Tests.Infrastructure;
using Npgsql;

namespace Dispatch.Tests.Storage;

/// <summary>
/// PSAPs P and Q; companies X and Y work for P. P's incident I1 is assigned to X, I2 to Y; Q's incident I3
/// to nobody. Each company has a user, a channel and a notification on its incident.
/// </summary>
public sealed class IsolationWorld : TestDatabase
{
    public DispatchDatabase Database { get; private set; } = null!;
    public Guid P, Q, X, Y, UserX, UserY, UserP, ChannelX, ChannelY, I1, I2, I3, NotificationX, NotificationY, CfsP, CallP, AckEventP;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Database = await MigratedAsync();
        var seed = new Seed(Database, new FieldCipher(Keys));
        P = await seed.AgencyAsync("psap-p", "psap");
        Q = await seed.AgencyAsync("psap-q", "psap");
        X = await seed.AgencyAsync("company-x", "company", P);
        Y = await seed.AgencyAsync("company-y", "company", P);
        UserP = await seed.UserAsync(P, "dispatcher@p.example", "psap-dispatcher");
        UserX = await seed.UserAsync(X, "crew@x.example");
        UserY = await seed.UserAsync(Y, "crew@y.example");
        ChannelX = await seed.ChannelAsync(X, "x mail", """{"to":"ops@x.example"}""");
        ChannelY = await seed.ChannelAsync(Y, "y mail", """{"to":"ops@y.example"}""");
        I1 = await seed.IncidentAsync(P, "Gas leak", "1 Main St", X);
        I2 = await seed.IncidentAsync(P, "Downed line", "2 Main St", Y);
        I3 = await seed.IncidentAsync(Q, "Derailment", "3 Rail Rd");
        NotificationX = await seed.NotificationAsync(I1, X, UserX, ChannelX, "to X");
        NotificationY = await seed.NotificationAsync(I2, Y, UserY, ChannelY, "to Y");

        // P's CAD inbox with one imported call, and X's acknowledgement of I1 (its ack event, written by the trigger, is P's).
        await using var owner = new NpgsqlConnection(ConnectionString);
        await owner.OpenAsync();
        CfsP = await owner.ExecuteScalarAsync<Guid>("insert into cfs_configurations (agency_id, inbox_path) values (@P, '/tmp') returning id", new { P });
        var import = await owner.ExecuteScalarAsync<Guid>(
            "insert into cfs_imports (cfs_configuration_id, filename, file_hash, status) values (@CfsP, 'a.xml', 'h', 'imported') returning id", new { CfsP });
        CallP = await owner.ExecuteScalarAsync<Guid>("""
            insert into cfs_incidents (cfs_configuration_id, cfs_import_id, external_cfs_id, raw_xml) values (@CfsP, @import, 'C-1', '\x00') returning id
            """, new { CfsP, import });
        await owner.ExecuteAsync("update incident_agencies set acked_at = now(), ack_source = 'api' where incident_id = @I1 and agent_agency_id = @X", new { I1, X });
        AckEventP = await owner.ExecuteScalarAsync<Guid>("select id from command_ack_events where incident_id = @I1", new { I1 });
    }

    public override async Task DisposeAsync()
    {
        await Database.DisposeAsync();
        await base.DisposeAsync();
    }
}

public sealed class IsolationTests(IsolationWorld world) : IClassFixture<IsolationWorld>
{
    private const string Visible = """
        select 'incident' as kind, id from incidents
        union all select 'notification', id from notifications
        union all select 'delivery', notification_id from notification_deliveries
        union all select 'communication', notification_id from incident_communications
        union all select 'user', id from users
        union all select 'channel', id from transport_channels
        union all select 'agency', id from agencies
        union all select 'cfs', id from cfs_configurations
        union all select 'cfs', cfs_configuration_id from cfs_imports
        union all select 'cfs', cfs_configuration_id from cfs_incidents
        union all select 'ack_event', id from command_ack_events
        """;

    public static TheoryData<string, string> Viewers => new()
    {
        { "through the store", "X" }, { "through the store", "Y" }, { "through the store", "P" }, { "through the store", "Q" },
        { "as the app role", "X" }, { "as the app role", "Y" }, { "as the app role", "P" }, { "as the app role", "Q" },
    };

    private Guid AgencyNamed(string name) => name switch { "X" => world.X, "Y" => world.Y, "P" => world.P, _ => world.Q };

    private async Task<ILookup<string, Guid>> VisibleToAsync(string path, Guid agency)
    {
        if (path == "through the store")
        {
            await using var scope = await new DispatchStore(world.Database, new FieldCipher(world.Keys)).BeginAsync(new AgencyContext(agency));
            return (await scope.QueryAsync<(string Kind, Guid Id)>(Visible)).ToLookup(r => r.Kind, r => r.Id);
        }
        // RLS alone: a bare connection that entered the app role and set the context by hand.
        await using var connection = new NpgsqlConnection(world.ConnectionString);
        await connection.OpenAsync();
        await connection.ExecuteAsync($"set role {DispatchDatabase.AppRole}");
        await connection.ExecuteAsync("select set_config('dispatch.agency_id', @a, false)", new { a = agency.ToString() });
        return (await connection.QueryAsync<(string Kind, Guid Id)>(Visible)).ToLookup(r => r.Kind, r => r.Id);
    }

    [Theory]
    [MemberData(nameof(Viewers))]
    public async Task Each_agency_sees_exactly_its_own_world(string path, string viewer)
    {
        var w = world;
        Guid[] incidents, notifications, users, channels, agencies;
        (incidents, notifications, users, channels, agencies) = viewer switch
        {
            "X" => (new[] { w.I1 }, new[] { w.NotificationX }, new[] { w.UserX }, new[] { w.ChannelX }, new[] { w.X, w.P }),
            "Y" => (new[] { w.I2 }, new[] { w.NotificationY }, new[] { w.UserY }, new[] { w.ChannelY }, new[] { w.Y, w.P }),
            "P" => (new[] { w.I1, w.I2 }, new[] { w.NotificationX, w.NotificationY }, new[] { w.UserP }, Array.Empty<Guid>(), new[] { w.P, w.X, w.Y }),
            _ => (new[] { w.I3 }, Array.Empty<Guid>(), Array.Empty<Guid>(), Array.Empty<Guid>(), new[] { w.Q }),
        };

        var seen = await VisibleToAsync(path, AgencyNamed(viewer));

        Assert.Equal(incidents.Order(), seen["incident"].Order());
        Assert.Equal(notifications.Order(), seen["notification"].Order());
        Assert.Equal(notifications.Order(), seen["delivery"].Order());
        Assert.Equal(notifications.Order(), seen["communication"].Order());
        Assert.Equal(users.Order(), seen["user"].Order());
        Assert.Equal(channels.Order(), seen["channel"].Order());
        Assert.Equal(agencies.Order(), seen["agency"].Order());
        // CAD inboxes, their imports and calls, and command-system ack events are the PSAP's alone.
        Assert.Equal(viewer == "P" ? [w.CfsP, w.CfsP, w.CfsP] : Array.Empty<Guid>(), seen["cfs"]);
        Assert.Equal(viewer == "P" ? [w.AckEventP] : Array.Empty<Guid>(), seen["ack_event"]);
    }

    [Fact]
    public async Task Without_an_agency_context_the_app_role_sees_nothing()
    {
        await using var connection = await world.Database.App.OpenConnectionAsync();

        var seen = (await connection.QueryAsync<(string Kind, Guid Id)>(Visible)).ToList();

        Assert.Empty(seen);
    }

    [Fact]
    public async Task The_engine_role_sees_across_agencies()
    {
        await using var scope = await new DispatchStore(world.Database, new FieldCipher(world.Keys)).BeginEngineAsync();

        var incidents = (await scope.QueryAsync<Guid>("select id from incidents")).ToList();

        Assert.Equal(new[] { world.I1, world.I2, world.I3 }.Order(), incidents.Order());
    }

    [Fact]
    public async Task A_company_cannot_write_into_another_companys_incident_or_configuration()
    {
        var store = new DispatchStore(world.Database, new FieldCipher(world.Keys));

        await using (var scope = await store.BeginAsync(new AgencyContext(world.X)))
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => scope.ExecuteAsync("""
                insert into notifications (incident_id, agency_id, notified_user_id) values (@I2, @Y, @UserY)
                """, new { world.I2, world.Y, world.UserY }));
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState); // row-level security
        }
        await using (var scope = await store.BeginAsync(new AgencyContext(world.X)))
        {
            Assert.Equal(0, await scope.ExecuteAsync("update transport_channels set name = 'pwned' where id = @ChannelY", new { world.ChannelY }));
            Assert.Equal(0, await scope.ExecuteAsync("update incidents set title = 'pwned' where id = @I3", new { world.I3 }));
            Assert.Equal(0, await scope.ExecuteAsync("update users set is_active = false where id = @UserY", new { world.UserY }));
        }
    }

    [Fact]
    public async Task A_scope_cannot_be_opened_without_an_agency()
    {
        var store = new DispatchStore(world.Database, new FieldCipher(world.Keys));

        await Assert.ThrowsAsync<ArgumentNullException>(() => store.BeginAsync(null!));
        await Assert.ThrowsAsync<ArgumentException>(() => store.BeginAsync(new AgencyContext(Guid.Empty)));
    }
}
