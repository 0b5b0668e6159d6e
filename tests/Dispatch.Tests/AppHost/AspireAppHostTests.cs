extern alias apphost;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Dapper;
using Dispatch.Testing;
using Dispatch.Tests.Infrastructure;
using Npgsql;

namespace Dispatch.Tests.AppHost;

/// <summary>
/// The real AppHost run by Aspire.Hosting.Testing in this process: its orchestrator starts PostgreSQL, a silo and the Api as
/// processes, as `dotnet run --project Dispatch.AppHost` does.
/// </summary>
[Trait("Tier", "Full")] // real processes: a Silo, the Api or the AppHost
public sealed class AspireAppHostTests : IAsyncLifetime
{
    private readonly string _dataDir = Dispatch.Testing.TestRun.NewFolder("aspire-");
    private readonly Uri _apiUrl = new($"http://127.0.0.1:{LoopbackPort.Free()}");
    private readonly CancellationTokenSource _patience = new(TimeSpan.FromMinutes(4));
    private MailServer _smtp = null!;

    public async Task InitializeAsync() => _smtp = await MailServer.StartAsync();

    [Fact]
    public async Task The_default_system_lets_the_bootstrap_admin_raise_an_incident_that_reaches_a_company_by_email()
    {
        var login = apphost::Dispatch.AppHost.LocalSecrets.Ensure(_dataDir).Login; // what the AppHost will print and bootstrap
        await using (var app = await StartAsync(
                         $"--Dispatch:Email:SmtpHost=127.0.0.1", $"--Dispatch:Email:SmtpPort={_smtp.Port}"))
        {
            using var http = new HttpClient { BaseAddress = _apiUrl };
            using var psap = await LoggedInAsync(http, login.Email, login.Password);
            using var onboarded = await psap.PostAsJsonAsync("/api/v1/agencies", new
            {
                name = "Gas Co", slug = "gasco", timezone = "America/Chicago",
                admin = new { email = "ops@gasco.example", password = "a long company password", firstName = "Ada", lastName = "Ops" },
            });
            Assert.Equal(HttpStatusCode.Created, onboarded.StatusCode);
            var company = (await onboarded.Content.ReadFromJsonAsync<JsonObject>())!["agency"]!["id"]!.GetValue<Guid>();

            using var gasco = await LoggedInAsync(http, "ops@gasco.example", "a long company password");
            using var channel = await gasco.PostAsJsonAsync("/api/v1/transport-channels", new { transportType = "email", name = "ops mail", config = new { } });
            Assert.Equal(HttpStatusCode.Created, channel.StatusCode);
            var channelId = (await channel.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
            using var rule = await gasco.PostAsJsonAsync("/api/v1/notification-rules", new { transportChannelId = channelId });
            Assert.Equal(HttpStatusCode.Created, rule.StatusCode);

            using var raised = await psap.PostAsJsonAsync("/api/v1/incidents",
                new { priority = "critical", title = "Gas main struck", address = "4 Depot Road", agencyIds = new[] { company } });
            Assert.Equal(HttpStatusCode.Created, raised.StatusCode);

            await Wait.UntilAsync(() => Task.FromResult(_smtp.Messages().Any(m => m.ToAddress == "ops@gasco.example")), TimeSpan.FromSeconds(60));
            var mail = Assert.Single(_smtp.Messages());
            Assert.Equal("[CRITICAL] Gas main struck", mail.Subject);
            Assert.Contains("4 Depot Road", mail.Decoded);
        }

        // Disposing the application stops every resource: nothing keeps running with the data folder, PostgreSQL included. (A test's
        // dispose does not wait for PostgreSQL's own shutdown; Ctrl+C does, see AppHostTests.)
        await Wait.UntilAsync(() => Task.FromResult(AppHostProcess.ProcessesOf(_dataDir).Count == 0), TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task An_external_database_is_used_instead_of_the_embedded_one_and_migrated()
    {
        var database = new TestDatabase(migrated: false);
        await database.InitializeAsync();
        try
        {
            await using (await StartAsync($"--ConnectionStrings:dispatch={database.ConnectionString}"))
            {
                using var http = new HttpClient { BaseAddress = _apiUrl };
                Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);
                Assert.False(Directory.Exists(Path.Combine(_dataDir, "postgres")), "the embedded PostgreSQL was started anyway");
                await using var c = new NpgsqlConnection(database.ConnectionString);
                Assert.True(await c.ExecuteScalarAsync<bool>("select count(*) > 0 from schema_migrations"));
                Assert.True(await c.ExecuteScalarAsync<bool>("select exists (select 1 from orleansmembershiptable where status = 3)"));
            }
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    private async Task<DistributedApplication> StartAsync(params string[] extra)
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<apphost::Program>(
            ["--data-dir", _dataDir, "--api-url", _apiUrl.ToString(), "--silos", "1", .. extra],
            (options, _) => options.DisableDashboard = true, _patience.Token);
        var app = await builder.BuildAsync(_patience.Token);
        try
        {
            await app.StartAsync(_patience.Token);
            await app.ResourceNotifications.WaitForResourceHealthyAsync("api", _patience.Token);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        return app;
    }

    private static async Task<HttpClient> LoggedInAsync(HttpClient http, string email, string password)
    {
        using var response = await http.PostAsJsonAsync("/api/v1/auth/login", new { email, password });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var token = (await response.Content.ReadFromJsonAsync<JsonObject>())!["accessToken"]!.GetValue<string>();
        var client = new HttpClient { BaseAddress = http.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public async Task DisposeAsync()
    {
        await _smtp.DisposeAsync();
        _patience.Dispose();
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // a server still shutting down may hold a file for a moment; /tmp is cleaned anyway
        }
    }
}
