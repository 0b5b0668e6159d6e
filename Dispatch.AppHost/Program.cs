using Dispatch.AppHost;
using Microsoft.Extensions.Configuration;

// The whole system in one `dotnet run`: PostgreSQL (the machine's binaries, or ConnectionStrings__dispatch), the Silo ×N, the Api and
// the Aspire dashboard. Options (configuration, so `-- --api-url URL`, `--data-dir DIR`, `--silos N` or Dispatch__… variables):
// the Api's URL (default http://127.0.0.1:5080), the data folder (default .dispatch), the number of silos (default 2).
DevelopmentCertificate.EnsureTrusted();
var builder = DistributedApplication.CreateBuilder(AppHostOptions.Translate(args));
var options = AppHostOptions.From(builder.Configuration);
var secrets = LocalSecrets.Ensure(options.DataDir);

var signingKey = builder.AddParameter("jwt-signing-key", secrets.SigningKey, secret: true);
var adminPassword = builder.AddParameter("admin-password", secrets.Login.Password, secret: true);
var encryptionKeys = secrets.KeyRing.Keys.Select(k => (k.Key, Parameter: builder.AddParameter($"encryption-key-{k.Key}", k.Value, secret: true))).ToList();

IResourceBuilder<IResourceWithConnectionString> database;
var external = !string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString("dispatch"));
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

void Configure(IResourceBuilder<ProjectResource> host)
{
    host.WithReference(database).WaitFor(database)
        .WithEnvironment("Dispatch__Auth__SigningKey", signingKey)
        .WithEnvironment("Dispatch__Encryption__ActiveKeyId", secrets.KeyRing.ActiveKeyId)
        .WithEnvironment("Dispatch__PublicUrl", Environment.GetEnvironmentVariable("Dispatch__PublicUrl") ?? options.ApiUrl.GetLeftPart(UriPartial.Authority))
        .WithEnvironment("Dispatch__Cfs__InboxRoot", Directory.CreateDirectory(Path.Combine(options.DataDir, "cfs-inbox")).FullName);
    foreach (var (id, key) in encryptionKeys) host.WithEnvironment($"Dispatch__Encryption__Keys__{id}", key);
    // The platform's SMTP server (Dispatch:Email:*, from the environment or `-- --Dispatch:Email:SmtpHost=…`); without one, email
    // lands as .eml files in the data folder.
    foreach (var setting in email.AsEnumerable(makePathsRelative: true).Where(s => s.Value is not null))
        host.WithEnvironment($"Dispatch__Email__{setting.Key.Replace(":", "__")}", setting.Value);
    if (email["SmtpHost"] is null)
        host.WithEnvironment("Dispatch__Email__PickupDirectory", Path.Combine(options.DataDir, "mail"));
    if (!external) // the embedded default's first PSAP and its admin, printed below
        host.WithEnvironment("Dispatch__Bootstrap__AgencyName", secrets.Login.AgencyName)
            .WithEnvironment("Dispatch__Bootstrap__AdminEmail", secrets.Login.Email)
            .WithEnvironment("Dispatch__Bootstrap__AdminPassword", adminPassword);
}

var silo = builder.AddProject<Projects.Dispatch_Silo>("silo")
    .WithReference(orleans)
    .WithReplicas(options.Silos)
    .WithHttpEndpoint(name: "http")
    .WithHttpHealthCheck("/health");
Configure(silo);

var api = builder.AddProject<Projects.Dispatch_Api>("api")
    .WithReference(orleans.AsClient())
    .WithHttpEndpoint(name: "http", port: options.ApiUrl.Port, isProxied: false)
    .WithHttpHealthCheck("/health");
Configure(api);

// The demo login goes to the console only (never to a log pipeline), once the Api is healthy.
builder.Eventing.Subscribe<ResourceReadyEvent>(api.Resource, (_, _) =>
{
    var url = options.ApiUrl.GetLeftPart(UriPartial.Authority);
    Console.WriteLine($"""

        Dispatch is running.
            API:      {url}/api/v1
            OpenAPI:  {url}/openapi/v1.json
            Swagger:  {url}/swagger
            Login:    {(external ? "(your database's users)" : $"{secrets.Login.Email} / {secrets.Login.Password}  (agency \"{secrets.Login.AgencyName}\"; POST {url}/api/v1/auth/login)")}
            Data:     {options.DataDir}
            Dashboard: the "Login to the dashboard" URL above
        Press Ctrl+C to stop.

        """);
    return Task.CompletedTask;
});

builder.Build().Run();

/// <summary>The entry point, named for Aspire.Hosting.Testing.</summary>
public partial class Program;
