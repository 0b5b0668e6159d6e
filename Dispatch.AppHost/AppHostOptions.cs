namespace Dispatch.AppHost;

/// <summary>Command line: <c>--data-dir</c>, <c>--api-url</c>, <c>--silo-url</c>; the database from <c>ConnectionStrings__dispatch</c>.</summary>
internal sealed record AppHostOptions(string DataDir, Uri ApiUrl, Uri? SiloUrl, string? ConnectionString)
{
    public const string Usage = """
        Usage: dotnet run --project Dispatch.AppHost [-- options]
          --data-dir DIR   where the embedded PostgreSQL, keys and the demo login live (default: .dispatch)
          --api-url URL    where the Api listens (default: http://127.0.0.1:5080)
          --silo-url URL   where the Silo's health endpoints listen (default: a free loopback port)
        Environment:
          ConnectionStrings__dispatch   use this PostgreSQL instead of the embedded one
          OTEL_EXPORTER_OTLP_ENDPOINT   export traces, metrics and logs over OTLP
        """;

    /// <returns>null when help was asked for.</returns>
    public static AppHostOptions? Parse(string[] args)
    {
        string dataDir = ".dispatch";
        var apiUrl = new Uri("http://127.0.0.1:5080");
        Uri? siloUrl = null;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--data-dir": dataDir = Value(); break;
                case "--api-url": apiUrl = ParseUrl(Value(), "--api-url"); break;
                case "--silo-url": siloUrl = ParseUrl(Value(), "--silo-url"); break;
                case "-h" or "--help": return null;
                default: throw new ArgumentException($"Unknown option '{args[i]}'.");
            }
        }
        var connectionString = Environment.GetEnvironmentVariable("ConnectionStrings__dispatch");
        return new AppHostOptions(Path.GetFullPath(dataDir), apiUrl, siloUrl,
            string.IsNullOrWhiteSpace(connectionString) ? null : connectionString);
    }

    private static Uri ParseUrl(string value, string option) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new ArgumentException($"{option} must be an http(s) URL, not '{value}'.");
}
