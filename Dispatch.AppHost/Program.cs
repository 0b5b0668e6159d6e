using Dispatch.AppHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

// The whole system in one `dotnet run`: PostgreSQL (the machine's binaries, or ConnectionStrings__dispatch), the Silo ×N, the Api and
// the Aspire dashboard. Options (configuration, so `-- --api-url URL`, `--data-dir DIR`, `--silos N` or Dispatch__… variables):
// the Api's URL (default http://127.0.0.1:5080), the data folder (default .dispatch at the repository root), the number of silos
// (default 2). A mistake in them, a second AppHost on the same data folder or a port in use is one sentence and exit code 2.
FileStream? instanceLock = null;
try
{
    var builder = DistributedApplication.CreateBuilder(AppHostOptions.Translate(args));
    var options = AppHostOptions.From(builder.Configuration, builder.AppHostDirectory);
    var external = !string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString("dispatch"));
    instanceLock = StartupChecks.LockDataFolder(options.DataDir, options.ApiUrl);
    StartupChecks.PortsFree([
        (options.ApiUrl.ToString(), "the Api, --api-url"),
        (builder.Configuration["ASPNETCORE_URLS"] ?? "", "the Aspire dashboard, ASPNETCORE_URLS"),
        (builder.Configuration["ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL"] ?? "", "the dashboard's telemetry receiver, ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL"),
        (builder.Configuration["ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL"] ?? "", "the dashboard's resource service, ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL"),
    ]);
    if (!external) StartupChecks.PostgresInstalled();
    DevelopmentCertificate.EnsureTrusted();
    Build(builder, options, external).Run();
    return 0;
}
catch (StartupException e)
{
    Console.Error.WriteLine($"Dispatch did not start: {e.Message}");
    return 2;
}
finally
{
    instanceLock?.Dispose();
}

static DistributedApplication Build(IDistributedApplicationBuilder builder, AppHostOptions options, bool external)
{
    var secrets = LocalSecrets.Ensure(options.DataDir);
    var signingKey = builder.AddParameter("jwt-signing-key", secrets.SigningKey, secret: true);
    var adminPassword = builder.AddParameter("admin-password", secrets.Login.Password, secret: true);
    var encryptionKeys = secrets.KeyRing.Keys.Select(k => (k.Key, Parameter: builder.AddParameter($"encryption-key-{k.Key}", k.Value, secret: true))).ToList();

    IResourceBuilder<IResourceWithConnectionString> database;
    if (external)
    {
        database = builder.AddConnectionString("dispatch");
    }
    else
    {
        var password = builder.AddParameter("postgres-password", secrets.PostgresPassword, secret: true);
        database = builder.AddLocalPostgres("dispatch", options.DataDir, password, secrets.PostgresPasswordFile);
    }

    var orleans = builder.AddOrleans("orleans").WithClusterId("dispatch").WithServiceId("dispatch").WithClustering(new AdoNetClustering(database));
    var email = builder.Configuration.GetSection("Dispatch:Email");
    // The hosts run in the AppHost's environment (Development on a developer's machine, as the http launch profile says), so that
    // README's Development defaults hold for them too: Swagger UI, loopback webhook receivers.
    var environment = builder.Environment.EnvironmentName;

    void Configure(IResourceBuilder<ExecutableResource> host)
    {
        host.WithReference(database).WaitFor(database)
            .WithOtlpExporter()
            .WithEnvironment("DOTNET_ENVIRONMENT", environment)
            .WithEnvironment("ASPNETCORE_ENVIRONMENT", environment)
            .WithEnvironment("Dispatch__Auth__SigningKey", signingKey)
            .WithEnvironment("Dispatch__Encryption__ActiveKeyId", secrets.KeyRing.ActiveKeyId)
            .WithEnvironment("Dispatch__PublicUrl", Environment.GetEnvironmentVariable("Dispatch__PublicUrl") ?? options.ApiUrl.GetLeftPart(UriPartial.Authority))
            .WithEnvironment("Dispatch__Cfs__InboxRoot", Directory.CreateDirectory(Path.Combine(options.DataDir, "cfs-inbox")).FullName);
        foreach (var (id, key) in encryptionKeys) host.WithEnvironment($"Dispatch__Encryption__Keys__{id}", key);
        // The platform's SMTP server, Twilio account and Telegram bot (Dispatch:Email:*, Dispatch:Twilio:*, Dispatch:Telegram:*, from
        // the environment or `-- --Dispatch:Email:SmtpHost=…`); without an SMTP server, email lands as .eml files in the data folder.
        foreach (var section in new[] { "Email", "Twilio", "Telegram" })
        foreach (var setting in builder.Configuration.GetSection($"Dispatch:{section}").AsEnumerable(makePathsRelative: true).Where(s => s.Value is not null))
            host.WithEnvironment($"Dispatch__{section}__{setting.Key.Replace(":", "__")}", setting.Value);
        if (email["SmtpHost"] is null)
            host.WithEnvironment("Dispatch__Email__PickupDirectory", Path.Combine(options.DataDir, "mail"));
        if (!external) // the embedded default's first PSAP and its admin, printed below
            host.WithEnvironment("Dispatch__Bootstrap__AgencyName", secrets.Login.AgencyName)
                .WithEnvironment("Dispatch__Bootstrap__AdminEmail", secrets.Login.Email)
                .WithEnvironment("Dispatch__Bootstrap__AdminPassword", adminPassword);
    }

    // The hosts' built programs, started with `dotnet <dll>` (a project resource is started through `dotnet run`, which evaluates
    // the project again at every start: seconds of CPU per host on a small machine, and a second process per host).
    for (var i = 1; i <= options.Silos; i++)
    {
        var silo = HostPrograms.Add(builder, options.Silos == 1 ? "silo" : $"silo-{i}", new Projects.Dispatch_Silo().ProjectPath)
            .WithReference(orleans);
        Configure(silo);
    }

    var api = HostPrograms.Add(builder, "api", new Projects.Dispatch_Api().ProjectPath, options.ApiUrl.Port)
        .WithReference(orleans.AsClient());
    Configure(api);

    // The demo login goes to the console only (never to a log pipeline), once the Api is healthy.
    builder.Eventing.Subscribe<ResourceReadyEvent>(api.Resource, (_, _) =>
    {
        var url = options.ApiUrl.GetLeftPart(UriPartial.Authority);
        var swagger = builder.Environment.IsDevelopment() ? $"\n    Swagger:  {url}/swagger" : ""; // served in Development only
        Console.WriteLine($"""

            Dispatch is running.
                Console:  {url}/console
                API:      {url}/api/v1
                OpenAPI:  {url}/openapi/v1.json{swagger}
                Login:    {(external ? "(your database's users)" : $"{secrets.Login.Email} / {secrets.Login.Password}  (agency \"{secrets.Login.AgencyName}\"; POST {url}/api/v1/auth/login)")}
                Data:     {options.DataDir}{(email["SmtpHost"] is null ? $"\n    Email:    {Path.Combine(options.DataDir, "mail")} (.eml files; no SMTP server configured)" : "")}
                Dashboard: the "Login to the dashboard" URL above
            Press Ctrl+C to stop.

            """);
        return Task.CompletedTask;
    });

    var app = builder.Build();
    StopQuickly.Attach(app, options.DataDir);
    return app;
}

/// <summary>The entry point, named for Aspire.Hosting.Testing.</summary>
public partial class Program;
