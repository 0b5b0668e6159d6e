using Microsoft.Extensions.Configuration;

namespace Dispatch.AppHost;

/// <summary>
/// The AppHost's options, from configuration: <c>Dispatch:ApiUrl</c> (default http://127.0.0.1:5080), <c>Dispatch:DataDir</c>
/// (default .dispatch), <c>Dispatch:Silos</c> (default 2); on the command line also <c>--api-url</c>, <c>--data-dir</c>, <c>--silos</c>.
/// </summary>
public sealed record AppHostOptions(Uri ApiUrl, string DataDir, int Silos)
{
    private static readonly Dictionary<string, string> Switches = new()
    {
        ["--api-url"] = "Dispatch:ApiUrl", ["--data-dir"] = "Dispatch:DataDir", ["--silos"] = "Dispatch:Silos",
    };

    /// <summary>The short switches as configuration keys, so `-- --api-url URL` keeps working.</summary>
    public static string[] Translate(string[] args) =>
        args.Select(a => Switches.TryGetValue(a, out var key) ? $"--{key}" : a).ToArray();

    public static AppHostOptions From(IConfiguration configuration)
    {
        var url = configuration["Dispatch:ApiUrl"] ?? "http://127.0.0.1:5080";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var apiUrl) || apiUrl.Scheme != "http")
            throw new ArgumentException($"Dispatch:ApiUrl (--api-url) is an http URL such as http://127.0.0.1:5080, not '{url}'.");
        var silos = int.TryParse(configuration["Dispatch:Silos"], out var n) ? n : 2;
        if (silos is < 1 or > 8) throw new ArgumentException($"Dispatch:Silos (--silos) is between 1 and 8, not {silos}.");
        return new AppHostOptions(apiUrl, Path.GetFullPath(configuration["Dispatch:DataDir"] ?? ".dispatch"), silos);
    }
}
