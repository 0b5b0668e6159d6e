using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Dispatch.Grains.Escalation;
using Dispatch.Grains.Storage;
using Dispatch.Tests.Deliveries;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Dispatch.Tests.Escalation;

/// <summary>
/// A PSAP with an email channel for its own alerts, and a company (gasco) with two responders and an escalation rule:
/// tier 1 the on-call responder, tier 2 the supervisor, the PSAP admin alerted at every step.
/// </summary>
public class EscalationWorld : DeliveryWorld
{
    public const int TimeoutSeconds = 60;
    public Guid Psap { get; private set; }
    public Guid PsapAdmin { get; private set; }
    public Guid Gasco { get; private set; }
    public Guid Oncall { get; private set; }
    public Guid Supervisor { get; private set; }
    public HttpClient GascoAdmin { get; private set; } = null!;

    /// <param name="ruleThroughApi">
    /// Write the company's escalation rule through the API (its agency grain), or straight into the database when the test's Api
    /// has no silo to reach (the engine is a TestCluster of another cluster id).
    /// </param>
    public async Task SetUpAsync(int repeatCount, bool ruleThroughApi = true)
    {
        var me = (await SendAsync(Admin, HttpMethod.Get, "/api/v1/users")).Body!["items"]![0]!;
        (Psap, PsapAdmin) = (me["agencyId"]!.GetValue<Guid>(), me["id"]!.GetValue<Guid>());
        await ChannelAsync(Psap, "email", "psap mail", "{}");
        (Gasco, var email, var password) = await OnboardCompanyAsync("gasco");
        await ChannelAsync(Gasco, "email", "gasco mail", "{}");
        Oncall = await ResponderAsync(Gasco, "oncall@gasco.example");
        Supervisor = await ResponderAsync(Gasco, "supervisor@gasco.example");
        GascoAdmin = As("Bearer " + (await LoginAsync(email, password)).AccessToken);
        var escalationOrder = new object[] { new { userIds = new[] { Oncall } }, new { userIds = new[] { Supervisor } } };
        if (!ruleThroughApi)
        {
            await using var c = await OwnerConnectionAsync();
            await c.ExecuteAsync("""
                insert into escalation_rules (agency_id, ack_timeout_seconds, escalation_order, notify_psap_user_ids, repeat_count)
                values (@Gasco, @TimeoutSeconds, @order::jsonb, @psap::jsonb, @repeatCount)
                """, new
            {
                Gasco, TimeoutSeconds, repeatCount, order = System.Text.Json.JsonSerializer.Serialize(escalationOrder, System.Text.Json.JsonSerializerOptions.Web),
                psap = System.Text.Json.JsonSerializer.Serialize(new[] { PsapAdmin }),
            });
            return;
        }
        var rule = await SendAsync(GascoAdmin, HttpMethod.Post, "/api/v1/escalation-rules", new
        {
            ackTimeoutSeconds = TimeoutSeconds, repeatCount, escalationOrder, notifyPsapUserIds = new[] { PsapAdmin },
        });
        Assert.Equal(System.Net.HttpStatusCode.Created, rule.Status);
    }

    /// <summary>Onboards another company whose rule (first tier: its admins) names the PSAP admin; returns it.</summary>
    public async Task<Guid> CompanyWithRuleAsync(string slug, string? channelType = null, string channelConfig = "{}")
    {
        var (company, email, password) = await OnboardCompanyAsync(slug);
        if (channelType is not null) await ChannelAsync(company, channelType, slug + " channel", channelConfig);
        using var admin = As("Bearer " + (await LoginAsync(email, password)).AccessToken);
        var rule = await SendAsync(admin, HttpMethod.Post, "/api/v1/escalation-rules", new
        {
            ackTimeoutSeconds = TimeoutSeconds, escalationOrder = new[] { new { roleSlugs = new[] { "company-admin" } } }, notifyPsapUserIds = new[] { PsapAdmin },
        });
        Assert.Equal(System.Net.HttpStatusCode.Created, rule.Status);
        return company;
    }

    public async Task<HttpClient> AsResponderAsync(string email) => As("Bearer " + (await LoginAsync(email, "responding to calls")).AccessToken);

    public DispatchStore Store => Api.Services.GetRequiredService<DispatchStore>();

    /// <summary>Fires, as each incident's grain would, every deadline due if the clock read <paramref name="now"/>.</summary>
    public async Task<IReadOnlyList<EscalationStep>> FireAsync(DateTimeOffset now)
    {
        await using var scope = await Store.BeginEngineAsync();
        var steps = new List<EscalationStep>();
        foreach (var incident in await OrphanedWork.IncidentsDueAsync(scope, now))
            steps.AddRange(await EscalationEngine.FireIncidentAsync(scope, incident, now));
        await scope.CommitAsync();
        return steps;
    }

    public static JsonObject Company(JsonObject incident) => incident["companies"]![0]!.AsObject();

    public static DateTimeOffset? NextDeadline(JsonObject incident) => Company(incident)["nextDeadline"]?.GetValue<DateTimeOffset>();

    public async Task<NpgsqlConnection> OwnerConnectionAsync()
    {
        var c = new NpgsqlConnection(ConnectionString);
        await c.OpenAsync();
        return c;
    }

    /// <summary>How many steps of each kind the communication log holds for an incident.</summary>
    public async Task<int> LoggedAsync(Guid incident, string type)
    {
        await using var c = await OwnerConnectionAsync();
        return await c.ExecuteScalarAsync<int>("select count(*) from incident_communications where incident_id = @incident and communication_type = @type",
            new { incident, type });
    }

    public override async Task DisposeAsync()
    {
        GascoAdmin?.Dispose();
        await base.DisposeAsync();
    }
}
