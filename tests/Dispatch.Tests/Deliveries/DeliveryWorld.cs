using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Storage.Encryption;
using Microsoft.Extensions.DependencyInjection;
using Dispatch.Tests.Infrastructure;
using Npgsql;

namespace Dispatch.Tests.Deliveries;

/// <summary>The real Api in process, a real Silo process, a real SMTP server and a webhook receiver, around one database.</summary>
public class DeliveryWorld : IdentityHost
{
    public MailServer Smtp { get; private set; } = null!;
    public WebhookReceiver Webhooks { get; private set; } = null!;
    public ExternalProcess? Silo { get; private set; }
    public HttpClient Admin { get; private set; } = null!;

    protected virtual Dictionary<string, string?> SiloSettings => new()
    {
        ["Dispatch:Delivery:FirstRetryDelay"] = "00:00:00.200",
        ["Dispatch:Delivery:MaxAttempts"] = "3",
    };

    /// <summary>Whether a Silo process runs from the start (tests that start their own, with other settings, say no).</summary>
    protected virtual bool RunsSilo => true;

    protected override bool RunsSiloProcesses => true;

    private readonly List<IAsyncDisposable> _providers = [];
    private readonly Dictionary<string, string?> _providerSettings = [];

    /// <summary>Starts the stand-ins for outside providers (Twilio, Telegram) a test class needs, before the world: see <see cref="Provide"/>.</summary>
    protected virtual Task StartProvidersAsync() => Task.CompletedTask;

    /// <summary>A provider's stand-in: every Silo process of this world gets its settings, and it is disposed after the world.</summary>
    protected void Provide(IAsyncDisposable provider, IReadOnlyDictionary<string, string?> settings)
    {
        _providers.Add(provider);
        foreach (var (key, value) in settings) _providerSettings[key] = value;
    }

    public override async Task InitializeAsync()
    {
        await StartProvidersAsync();
        await base.InitializeAsync();
        Smtp = await MailServer.StartAsync(secured: true); // STARTTLS and AUTH, as a real relay demands
        Webhooks = await WebhookReceiver.StartAsync();
        Admin = await AsAdminAsync();
        if (RunsSilo) await StartSiloAsync();
    }

    /// <summary>Starts the world's Silo process and waits until the Api has reached the cluster.</summary>
    public async Task StartSiloAsync() => Silo = await StartSiloProcessAsync(WorldSiloSettings());

    /// <summary>A Silo process's settings in this world: <see cref="SiloSettings"/>, the SMTP server, the providers' stand-ins and the Api's address for links.</summary>
    public Dictionary<string, string?> WorldSiloSettings()
    {
        var settings = new Dictionary<string, string?>(SiloSettings) { ["Dispatch:PublicUrl"] = Anonymous.BaseAddress!.ToString() };
        foreach (var (key, value) in Smtp.HostSettings().Concat(_providerSettings)) settings[key] = value;
        return settings;
    }

    /// <summary>
    /// Starts a Silo process with these settings and waits until it is an active member of the cluster (a silo still joining owns no
    /// grains yet) and the Api has reached the cluster.
    /// </summary>
    /// <remarks>
    /// A port picked free can be taken by another test's process before the silo binds it; a silo that stops for that reason
    /// is started again on other ports (a few times), since the test is about what the silo does once running.
    /// </remarks>
    public async Task<ExternalProcess> StartSiloProcessAsync(IReadOnlyDictionary<string, string?> settings)
    {
        for (var attempt = 1; ; attempt++)
        {
            DateTime launched;
            await using (var c = await OwnerAsync()) launched = await c.ExecuteScalarAsync<DateTime>("select now()");
            var silo = SiloProcess.Start(this, settings);
            try
            {
                await Wait.UntilAsync(async () =>
                {
                    if (silo.HasExited) return true;
                    await using var c = await OwnerAsync();
                    return await c.ExecuteScalarAsync<bool>( // Orleans' SiloStatus.Active
                        "select exists (select 1 from orleansmembershiptable where status = 3 and starttime >= @launched)", new { launched });
                }, TimeSpan.FromSeconds(60), () => silo.Output);
                if (silo.HasExited)
                {
                    if (attempt < 3 && silo.Output.Contains("Address already in use", StringComparison.Ordinal))
                    {
                        await silo.DisposeAsync();
                        continue;
                    }
                    throw new InvalidOperationException("The Silo process stopped while starting:\n" + silo.Output);
                }
                await Api.WaitConnectedAsync(Anonymous);
            }
            catch
            {
                await silo.DisposeAsync(); // never leave a process behind a failed start
                throw;
            }
            return silo;
        }
    }

    public override async Task DisposeAsync()
    {
        if (Silo is not null) await Silo.DisposeAsync();
        await Webhooks.DisposeAsync();
        await Smtp.DisposeAsync();
        Admin.Dispose();
        await base.DisposeAsync();
        foreach (var provider in _providers) await provider.DisposeAsync();
    }

    private FieldCipher Cipher => new(Keys);

    private async Task<NpgsqlConnection> OwnerAsync()
    {
        var c = new NpgsqlConnection(ConnectionString);
        await c.OpenAsync();
        return c;
    }

    /// <summary>
    /// "Time passes": moves the live deadlines that <paramref name="where"/> selects (a condition on <c>notifications</c>) to
    /// <paramref name="seconds"/> from now (negative: overdue), then tells each incident's grain, as its timer would, to look at
    /// its deadlines again (its timer holds them as they were). With no silo running, the grains learn of it when one starts.
    /// </summary>
    public async Task MoveDeadlinesAsync(double seconds, string where = "true", object? parameters = null)
    {
        List<Guid> incidents;
        await using (var c = await OwnerAsync())
        {
            var arguments = new DynamicParameters(parameters);
            arguments.Add("seconds", seconds);
            incidents = (await c.QueryAsync<Guid>(
                "update notifications set escalation_due_at = now() + make_interval(secs => @seconds) " +
                $"where escalation_due_at is not null and escalated_at is null and ack_status = 'pending' and ({where}) returning incident_id",
                arguments)).Distinct().ToList();
        }
        if (Silo is { HasExited: false })
            foreach (var id in incidents) await Api.Services.GetRequiredService<IClusterClient>().GetGrain<IIncidentGrain>(id).EscalateWhenDueAsync();
    }

    public async Task<Guid> ChannelAsync(Guid company, string slug, string name, string configJson)
    {
        await using var c = await OwnerAsync();
        return await c.ExecuteScalarAsync<Guid>("""
            insert into transport_channels (agency_id, transport_type_id, name, config)
            select @company, id, @name, @config::jsonb from transport_types where slug = @slug returning id
            """, new { company, slug, name, config = Cipher.EncryptJson(configJson, EncryptedColumns.ChannelConfig.Context) });
    }

    public async Task RuleAsync(Guid company, Guid channel, string[]? priorities)
    {
        await using var c = await OwnerAsync();
        await c.ExecuteAsync("insert into notification_rules (agency_id, transport_channel_id, priority_filter) values (@company, @channel, @priorities)",
            new { company, channel, priorities });
    }

    public async Task<Guid> ResponderAsync(Guid company, string email)
    {
        using var admin = As("Bearer " + (await LoginAsync(await CompanyAdminEmailAsync(company), "a long company password")).AccessToken);
        var roles = (await admin.GetFromJsonAsync<JsonObject>("/api/v1/roles"))!["items"]!.AsArray();
        var responder = roles.First(r => r!["slug"]!.GetValue<string>() == "company-responder")!["id"]!.GetValue<Guid>();
        using var response = await admin.PostAsJsonAsync("/api/v1/users",
            new { email, password = "responding to calls", firstName = "Resp", lastName = "Onder", roleId = responder });
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
    }

    public async Task PreferenceAsync(Guid user, Guid channel, int order, string mode, string? overrideJson = null)
    {
        await using var c = await OwnerAsync();
        await c.ExecuteAsync("""
            insert into user_transport_preferences (user_id, transport_channel_id, priority_order, delivery_mode, config_override)
            values (@user, @channel, @order, @mode, @override::jsonb)
            """, new { user, channel, order, mode, @override = Cipher.EncryptJson(overrideJson, EncryptedColumns.PreferenceConfigOverride.Context) });
    }

    private async Task<string> CompanyAdminEmailAsync(Guid company)
    {
        await using var c = await OwnerAsync();
        return await c.ExecuteScalarAsync<string>(
            "select u.email from users u join roles r on r.id = u.role_id where u.agency_id = @company and r.slug = 'company-admin'", new { company }) ?? "";
    }

    /// <summary>
    /// Raises an incident as a careful client does: with an Idempotency-Key, repeating the same request when the Api answers 503
    /// with Retry-After (the engine busy, e.g. a silo that has just joined still warming up on a loaded machine), which the Api
    /// promises is safe; the key makes it one incident however many times it is sent.
    /// </summary>
    public async Task<Guid> RaiseAsync(string priority, params Guid[] companies)
    {
        var key = Guid.NewGuid().ToString();
        HttpResponseMessage response;
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/incidents")
            {
                Content = JsonContent.Create(new
                {
                    priority, title = "Gas smell at school", description = "Strong odour reported by staff", address = "12 Elm Street", agencyIds = companies,
                }),
            };
            request.Headers.Add("Idempotency-Key", key);
            response = await Admin.SendAsync(request);
            if (response.StatusCode != System.Net.HttpStatusCode.ServiceUnavailable || attempt == 5 || response.Headers.RetryAfter?.Delta is not { } wait) break;
            response.Dispose();
            await Task.Delay(wait);
        }
        using var _ = response;
        Assert.True(response.IsSuccessStatusCode,
            await response.Content.ReadAsStringAsync() + string.Join('\n', Api.Logs.Lines.Where(l => l.StartsWith("Error"))));
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["incident"]!["id"]!.GetValue<Guid>();
    }

    /// <summary>
    /// The incident a CAD or EIDO call was raised as: the import (or event) leaves it in the new incident's inbox, and the incident's
    /// grain raises it right after the commit.
    /// </summary>
    public async Task<Guid> LinkedIncidentAsync(Guid callId)
    {
        Guid? linked = null;
        await Wait.UntilAsync(async () => (linked = (await Admin.GetFromJsonAsync<JsonObject>($"/api/v1/cfs-incidents/{callId}"))!["linkedIncidentId"]
            ?.GetValue<Guid?>()) is not null, TimeSpan.FromSeconds(30), () => Silo?.Output ?? "");
        return linked!.Value;
    }

    public async Task<JsonObject> IncidentAsync(Guid id) => (await Admin.GetFromJsonAsync<JsonObject>($"/api/v1/incidents/{id}"))!;

    /// <summary>The notification an incident sent <paramref name="user"/>, as the incident's view shows it.</summary>
    public async Task<JsonObject> RecipientNotificationAsync(Guid incident, Guid user) =>
        (JsonObject)(await IncidentAsync(incident))["companies"]!.AsArray().SelectMany(c => c!["notifications"]!.AsArray())
            .Single(n => n!["notifiedUserId"]!.GetValue<Guid>() == user)!;

    /// <summary>
    /// A recipient's deliveries on an incident once every one has an outcome recorded (none queued, sending or waiting): a
    /// message can arrive before its sender has committed that it was sent.
    /// </summary>
    public async Task<JsonArray> SettledDeliveriesAsync(Guid incident, Guid user)
    {
        JsonArray deliveries = [];
        await Wait.UntilAsync(async () =>
        {
            deliveries = (await RecipientNotificationAsync(incident, user))["deliveries"]!.AsArray();
            return deliveries.All(d => d!["sendStatus"]!.GetValue<string>() is not ("queued" or "sending" or "waiting"));
        }, TimeSpan.FromSeconds(60), () => $"{deliveries.ToJsonString()}\n{Silo?.Output}");
        return deliveries;
    }

    public static IEnumerable<JsonNode> Deliveries(JsonObject incident) =>
        incident["companies"]!.AsArray().SelectMany(c => c!["notifications"]!.AsArray()).SelectMany(n => n!["deliveries"]!.AsArray()).Select(d => d!);
}
