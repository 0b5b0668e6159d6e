using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace Dispatch.AppHost;

/// <summary>
/// The AppHost's options, from configuration: <c>Dispatch:ApiUrl</c> (default http://127.0.0.1:5080), <c>Dispatch:DataDir</c>
/// (default <c>.dispatch</c> at the repository root, beside Dispatch.sln), <c>Dispatch:Silos</c> (default 2); on the command line
/// also <c>--api-url</c>, <c>--data-dir</c>, <c>--silos</c>.
/// </summary>
public sealed partial record AppHostOptions(Uri ApiUrl, string DataDir, int Silos)
{
    private static readonly Dictionary<string, string> Switches = new()
    {
        ["--api-url"] = "Dispatch:ApiUrl", ["--data-dir"] = "Dispatch:DataDir", ["--silos"] = "Dispatch:Silos",
    };

    /// <summary>The short switches as configuration keys, so `-- --api-url URL` keeps working.</summary>
    public static string[] Translate(string[] args) =>
        args.Select(a => Switches.TryGetValue(a, out var key) ? $"--{key}" : a).ToArray();

    /// <param name="appHostDirectory">The AppHost project's folder: the default data folder is beside it, at the repository root.</param>
    public static AppHostOptions From(IConfiguration configuration, string appHostDirectory)
    {
        var url = configuration["Dispatch:ApiUrl"] ?? "http://127.0.0.1:5080";
        var port = Port().Match(url);
        if (port.Success && (!int.TryParse(port.Groups[1].Value, out var p) || p is < 1 or > 65535))
            throw new StartupException($"--api-url '{url}' has port {port.Groups[1].Value}; a port is between 1 and 65535.");
        if (!Uri.TryCreate(url, UriKind.Absolute, out var apiUrl) || apiUrl.Scheme != "http" || apiUrl.AbsolutePath != "/")
            throw new StartupException($"--api-url is an http URL with a host and a port, such as http://127.0.0.1:5080, not '{url}'.");
        var silosText = configuration["Dispatch:Silos"] ?? "2";
        if (!int.TryParse(silosText, out var silos) || silos is < 1 or > 8)
            throw new StartupException($"--silos is a whole number from 1 to 8, not '{silosText}'.");
        var dataDir = configuration["Dispatch:DataDir"] ?? Path.Combine(appHostDirectory, "..", ".dispatch");
        return new AppHostOptions(apiUrl, Path.GetFullPath(dataDir), silos);
    }

    [GeneratedRegex(@"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/:?#]*:(\d+)")]
    private static partial Regex Port();
}

/// <summary>A mistake or a conflict found before anything starts: said in one sentence, no stack trace, a non-zero exit.</summary>
public sealed class StartupException(string message) : Exception(message);
