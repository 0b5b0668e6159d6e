using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dispatch.Tests.Infrastructure;

/// <summary>The real Api on Kestrel over loopback, against a test database, with extra settings.</summary>
public sealed class ApiHost : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;
    private readonly bool _withSilo;
    private InProcessSilo? _silo;

    /// <param name="withSilo">Run a silo in this process first (the Api sends every command to grains); tests that run Silo processes say no.</param>
    public ApiHost(TestDatabase database, IReadOnlyDictionary<string, string?>? settings = null, bool withSilo = true)
    {
        _settings = database.HostSettings();
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            _settings[key] = value;
        _withSilo = withSilo;
        UseKestrel(0);
    }

    public InProcessSilo? Silo => _silo;

    protected override IHost CreateHost(IHostBuilder builder)
    {
        if (_withSilo) _silo ??= InProcessSilo.StartAsync(_settings, Logs).GetAwaiter().GetResult();
        return base.CreateHost(builder);
    }

    /// <summary>Waits until the Api reaches a silo (its <c>/health</c> says ready), e.g. after starting a Silo process.</summary>
    public Task WaitConnectedAsync(HttpClient client) => WaitReadyAsync(client);

    /// <summary>Waits until an Api (this one, or a process) answers <c>/health</c> as ready: it is up and has reached a silo.</summary>
    public static Task WaitReadyAsync(HttpClient client, Func<string>? explain = null) => Wait.UntilAsync(async () =>
    {
        try
        {
            using var response = await client.GetAsync("/health");
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false; // not listening yet
        }
    }, TimeSpan.FromSeconds(60), explain);

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (_silo is not null) await _silo.DisposeAsync();
    }

    /// <summary>Every log line the host wrote, formatted, for tests that look for leaks.</summary>
    public LogCapture Logs { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.ConfigureLogging(logging => logging.AddProvider(Logs).SetMinimumLevel(LogLevel.Debug));
        foreach (var (key, value) in _settings)
            builder.UseSetting(key, value);
    }

    /// <summary>Starts the server and returns a client that speaks HTTP to it over loopback.</summary>
    public HttpClient StartClient()
    {
        StartServer();
        return CreateClient();
    }
}

public sealed class LogCapture : ILoggerProvider
{
    private readonly List<string> _lines = [];

    public IReadOnlyList<string> Lines { get { lock (_lines) return _lines.ToList(); } }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = $"{logLevel} {category}: {formatter(state, exception)} {exception}";
            lock (capture._lines) capture._lines.Add(line);
        }
    }
}
