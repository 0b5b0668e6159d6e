using System.Reflection;

namespace Dispatch.AppHost;

/// <summary>Starts PostgreSQL (embedded unless configured), then the Silo and the Api; stops them all in reverse.</summary>
internal sealed class Orchestrator(AppHostOptions options, TextWriter output)
{
    public const string DatabaseName = "dispatch";
    private static readonly TimeSpan HealthPatience = TimeSpan.FromSeconds(120);

    public async Task<int> RunAsync(CancellationToken stopping)
    {
        EmbeddedPostgres? postgres = null;
        DemoLogin? login = null;
        string? keyFile = null;
        string connectionString;
        if (options.ConnectionString is { } configured)
        {
            connectionString = configured;
            output.WriteLine("[apphost] using the database in ConnectionStrings__dispatch");
        }
        else
        {
            var binDir = await PostgresBinaries.FindAsync();
            if (binDir is null)
            {
                output.WriteLine(PostgresBinaries.InstallHelp);
                return 2;
            }
            postgres = new EmbeddedPostgres(binDir, options.DataDir);
            output.WriteLine($"[apphost] starting PostgreSQL from {binDir} with data in {postgres.DataDir}");
            await postgres.StartAsync(CancellationToken.None);
            output.WriteLine($"[apphost] PostgreSQL listening on 127.0.0.1:{postgres.Port}");
            await postgres.EnsureDatabaseAsync(DatabaseName, CancellationToken.None);
            connectionString = postgres.ConnectionString(DatabaseName);
            login = DemoLogin.LoadOrCreate(options.DataDir);
        }
        if (Environment.GetEnvironmentVariable("Dispatch__Encryption__KeyFile") is null &&
            Environment.GetEnvironmentVariable("Dispatch__Encryption__ActiveKeyId") is null)
            keyFile = LocalKeyFile.Ensure(options.DataDir);
        var signingKeyFile = Environment.GetEnvironmentVariable("Dispatch__Auth__SigningKey") is null &&
                             Environment.GetEnvironmentVariable("Dispatch__Auth__SigningKeyFile") is null
            ? LocalSigningKey.Ensure(options.DataDir)
            : null;

        var children = new List<SupervisedProcess>();
        var runs = new List<Task>();
        try
        {
            var siloUrl = options.SiloUrl ?? new Uri($"http://127.0.0.1:{LoopbackPort.Free()}");
            var environment = ChildEnvironment(connectionString, login, keyFile, signingKeyFile);
            children.Add(new SupervisedProcess("silo", ProjectDll("Dispatch.Silo"), ["--urls", Origin(siloUrl)], environment, output));
            children.Add(new SupervisedProcess("api", ProjectDll("Dispatch.Api"), ["--urls", Origin(options.ApiUrl)], environment, output));
            runs.AddRange(children.Select(c => c.RunAsync(stopping)));

            if (await WaitHealthyAsync([new Uri(siloUrl, "/health"), new Uri(options.ApiUrl, "/health")], stopping))
                PrintBanner(login);
            await Task.Delay(Timeout.Infinite, stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        finally
        {
            output.WriteLine("[apphost] stopping");
            await Task.WhenAll(children.AsEnumerable().Reverse().Select(c => c.StopAsync()));
            await Task.WhenAll(runs);
            if (postgres is not null)
            {
                await postgres.StopAsync(CancellationToken.None);
                output.WriteLine("[apphost] PostgreSQL stopped");
            }
        }
        output.WriteLine("[apphost] stopped");
        return 0;
    }

    private Dictionary<string, string> ChildEnvironment(string connectionString, DemoLogin? login, string? keyFile, string? signingKeyFile)
    {
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__dispatch"] = connectionString,
            ["DISPATCH_PARENT_PID"] = Environment.ProcessId.ToString(),
            ["DOTNET_ENVIRONMENT"] = Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT") ?? "Development",
            ["ASPNETCORE_ENVIRONMENT"] = Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT") ?? "Development",
            ["Logging__Console__FormatterName"] = "simple",
            ["Logging__Console__FormatterOptions__SingleLine"] = "true",
        };
        if (keyFile is not null)
            environment["Dispatch__Encryption__KeyFile"] = keyFile;
        if (signingKeyFile is not null)
            environment["Dispatch__Auth__SigningKeyFile"] = signingKeyFile;
        environment["Dispatch__PublicUrl"] = Environment.GetEnvironmentVariable("Dispatch__PublicUrl") ?? Origin(options.ApiUrl);
        // Without an SMTP server, email lands as .eml files in the data folder.
        if (Environment.GetEnvironmentVariable("Dispatch__Email__SmtpHost") is null)
            environment["Dispatch__Email__PickupDirectory"] = Path.Combine(options.DataDir, "mail");
        // The Silo's Orleans endpoints (silo-to-silo and client gateway), on free loopback ports.
        environment["Dispatch__Orleans__SiloPort"] = LoopbackPort.Free().ToString();
        environment["Dispatch__Orleans__GatewayPort"] = LoopbackPort.Free().ToString();
        // CAD inboxes live under one root; each PSAP's configuration names a folder inside it.
        if (Environment.GetEnvironmentVariable("Dispatch__Cfs__InboxRoot") is null)
            environment["Dispatch__Cfs__InboxRoot"] = Directory.CreateDirectory(Path.Combine(options.DataDir, "cfs-inbox")).FullName;
        foreach (var (key, value) in login?.AsEnvironment() ?? [])
            environment[key] = value;
        return environment;
    }

    private async Task<bool> WaitHealthyAsync(IReadOnlyList<Uri> endpoints, CancellationToken stopping)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var started = DateTime.UtcNow;
        var warned = false;
        while (!stopping.IsCancellationRequested)
        {
            var healthy = 0;
            foreach (var endpoint in endpoints)
            {
                try
                {
                    using var response = await http.GetAsync(endpoint, stopping);
                    if (response.IsSuccessStatusCode) healthy++;
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    // not up yet
                }
            }
            if (healthy == endpoints.Count) return true;
            if (!warned && DateTime.UtcNow - started > HealthPatience)
            {
                output.WriteLine($"[apphost] not healthy after {HealthPatience.TotalSeconds:0} s; still waiting (see the output above)");
                warned = true;
            }
            await Task.Delay(250, stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        return false;
    }

    private void PrintBanner(DemoLogin? login)
    {
        var api = Origin(options.ApiUrl);
        output.WriteLine($"""
            [apphost] Dispatch is running.
                API:      {api}/api/v1
                OpenAPI:  {api}/openapi/v1.json
                Swagger:  {api}/swagger
                Health:   {api}/health
            """);
        if (login is not null)
            output.WriteLine($"""
                    Login:    {login.Email} / {login.Password}  (agency "{login.AgencyName}"; POST {api}/api/v1/auth/login)
                    Data:     {options.DataDir}
                """);
        output.WriteLine("[apphost] Press Ctrl+C to stop.");
    }

    private static string Origin(Uri url) => url.GetLeftPart(UriPartial.Authority);

    internal static string ProjectDll(string project)
    {
        var path = typeof(Orchestrator).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == project).Value!;
        if (!File.Exists(path))
            throw new FileNotFoundException($"{project} is not built at {path}; run `dotnet build` first.", path);
        return path;
    }
}
