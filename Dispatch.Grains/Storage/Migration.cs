using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Dispatch.Grains.Storage;

/// <summary>One numbered SQL migration; its checksum is over the text with line endings normalised.</summary>
public sealed partial record Migration(int Version, string Name, string Sql)
{
    public string Checksum { get; } = Convert.ToHexStringLower(
        SHA256.HashData(Encoding.UTF8.GetBytes(Sql.ReplaceLineEndings("\n"))));

    /// <summary>The migrations embedded in this assembly, in order.</summary>
    public static IReadOnlyList<Migration> Embedded { get; } = LoadEmbedded();

    public static Migration FromFileName(string fileName, string sql)
    {
        var match = FileNamePattern().Match(fileName);
        if (!match.Success)
            throw new InvalidOperationException($"Migration file '{fileName}' must be named NNNN_kebab-name.sql.");
        return new Migration(int.Parse(match.Groups["version"].Value), match.Groups["name"].Value, sql);
    }

    private static IReadOnlyList<Migration> LoadEmbedded()
    {
        var assembly = typeof(Migration).Assembly;
        var migrations = assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith("migrations/", StringComparison.Ordinal))
            .Select(n => FromFileName(n["migrations/".Length..], Read(assembly, n)))
            .OrderBy(m => m.Version)
            .ToList();
        var duplicate = migrations.GroupBy(m => m.Version).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new InvalidOperationException($"Two migrations share version {duplicate.Key}.");
        return migrations;
    }

    private static string Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    [GeneratedRegex(@"^(?<version>\d{4})_(?<name>[a-z0-9-]+)\.sql$")]
    private static partial Regex FileNamePattern();
}
