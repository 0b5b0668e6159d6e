using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Dapper;
using Dispatch.Tests.Deliveries;
using Dispatch.Tests.Infrastructure;
using Npgsql;

namespace Dispatch.Tests.Api;

/// <summary>README's walk-through, block by block, against the real Api and a Silo: if it stops being true, this fails.</summary>
[Trait("Tier", "Full")] // real processes: a Silo, the Api or the AppHost
public sealed partial class ReadmeWalkthroughTests : DeliveryWorld
{
    private sealed record Step(string Method, string Path, string? Authorization, string? Body, List<(string Name, string Path)> Captures,
        bool Wait, (string Path, string Value)? Expect);

    [Fact]
    public async Task The_readme_walkthrough_runs_from_login_to_an_escalated_incident()
    {
        var steps = ParseWalkthrough();
        var values = new Dictionary<string, string> { ["adminPassword"] = AdminPassword };
        Assert.True(steps.Count >= 12, $"only {steps.Count} steps found in README");

        foreach (var step in steps)
        {
            if (step.Wait) await PassFirstDeadlineAsync();
            JsonNode? body = null;
            await Wait.UntilAsync(async () =>
            {
                body = await SendStepAsync(step, values);
                return step.Expect is not { } expect || Select(body, expect.Path)?.ToJsonString().Trim('"') == expect.Value;
            }, TimeSpan.FromSeconds(30), () => $"{step.Method} {step.Path}: {body?.ToJsonString()}\n{Silo?.Output}");
            foreach (var (name, path) in step.Captures)
                values[name] = Select(body, path)?.GetValue<object>().ToString() ?? throw new Xunit.Sdk.XunitException($"{step.Method} {step.Path}: no {path} in {body}");
        }

        var log = (await SendAsync(Admin, HttpMethod.Get, $"/api/v1/incidents/{values["incidentId"]}/communications")).Body!["items"]!.AsArray();
        Assert.Contains(log, e => e!["communicationType"]!.GetValue<string>() == "escalation");
    }

    private async Task<JsonNode?> SendStepAsync(Step step, Dictionary<string, string> values)
    {
        using var request = new HttpRequestMessage(new HttpMethod(step.Method), Fill(step.Path, values));
        if (step.Authorization is { } auth)
        {
            var filled = Fill(auth, values);
            request.Headers.Authorization = new AuthenticationHeaderValue(filled[..filled.IndexOf(' ')], filled[(filled.IndexOf(' ') + 1)..]);
        }
        if (step.Body is { } text)
            request.Content = new StringContent(Fill(text, values).Replace("admin@dispatch.local", AdminEmail), Encoding.UTF8, "application/json");
        using var response = await Anonymous.SendAsync(request);
        var answer = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{step.Method} {step.Path}: {(int)response.StatusCode} {answer}");
        return answer.Length == 0 ? null : JsonNode.Parse(answer);
    }

    private Task PassFirstDeadlineAsync() => MoveDeadlinesAsync(0);

    private static string Fill(string text, Dictionary<string, string> values) => Placeholder().Replace(text, m =>
        values.TryGetValue(m.Groups[1].Value, out var v) ? v : throw new Xunit.Sdk.XunitException($"README uses {m.Value} before any step gives it"));

    // "items[slug=company-responder].id", "items[0].id", "agency.id"
    private static JsonNode? Select(JsonNode? node, string path)
    {
        foreach (var segment in path.Split('.'))
        {
            var m = Segment().Match(segment);
            node = node?[m.Groups["name"].Value];
            if (!m.Groups["index"].Success) continue;
            var index = m.Groups["index"].Value;
            node = int.TryParse(index, out var i) ? node?[i]
                : node?.AsArray().FirstOrDefault(e => e?[index.Split('=')[0]]?.ToString() == index.Split('=')[1]);
        }
        return node;
    }

    private static List<Step> ParseWalkthrough()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));
        var start = readme.IndexOf("## Walk-through", StringComparison.Ordinal);
        Assert.True(start >= 0, "README has no walk-through");
        var section = readme[start..readme.IndexOf("\n## ", start + 3, StringComparison.Ordinal)];
        return HttpBlock().Matches(section).Select(m =>
        {
            var lines = m.Groups[1].Value.Split('\n').Select(l => l.Trim()).ToList();
            var request = lines[0].Split(' ', 2);
            var authorization = lines.FirstOrDefault(l => l.StartsWith("Authorization:"))?["Authorization:".Length..].Trim();
            var comments = lines.Where(l => l.StartsWith('#')).ToList();
            var bodyLines = lines.Skip(1).Where(l => !l.StartsWith("Authorization:") && !l.StartsWith('#')).ToList();
            var body = string.Join('\n', bodyLines).Trim();
            var captures = comments.Where(c => c.StartsWith("# →")).Select(c => Capture().Match(c))
                .Select(c => (c.Groups[1].Value, c.Groups[2].Value.Trim())).ToList();
            var expect = comments.FirstOrDefault(c => c.StartsWith("# expect:"))?["# expect:".Length..].Split('=', 2);
            return new Step(request[0], request[1], authorization, body.Length == 0 ? null : body, captures,
                comments.Any(c => c.StartsWith("# wait:")), expect is null ? null : (expect[0].Trim(), expect[1].Trim()));
        }).ToList();
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Dispatch.sln"))) return dir.FullName;
        throw new InvalidOperationException("No Dispatch.sln above the test binaries.");
    }

    [GeneratedRegex("```http\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex HttpBlock();

    [GeneratedRegex(@"\{\{(\w+)\}\}")]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"^# → \{\{(\w+)\}\} = (.+)$")]
    private static partial Regex Capture();

    [GeneratedRegex(@"^(?<name>\w+)(\[(?<index>[^\]]+)\])?$")]
    private static partial Regex Segment();
}
