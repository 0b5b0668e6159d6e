using System.Reflection;
using Dispatch.Tests.Infrastructure;

namespace Dispatch.Tests.Api;

/// <summary>A host started with a mistake says what is wrong in one sentence and exits with 2, without a stack trace.</summary>
[Trait("Tier", "Full")] // real processes: a Silo, the Api or the AppHost
public sealed class HostStartTests
{
    [Theory]
    [InlineData("Dispatch.Api")]
    [InlineData("Dispatch.Silo")]
    public async Task A_host_without_a_database_says_so_in_one_sentence_and_exits_with_2(string project)
    {
        var dll = typeof(HostStartTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == project).Value!;
        await using var host = new ExternalProcess("dotnet", [dll, "--urls", $"http://127.0.0.1:{Dispatch.Testing.LoopbackPort.Free()}"],
            new Dictionary<string, string?> { ["ConnectionStrings__dispatch"] = null, ["DOTNET_ENVIRONMENT"] = "Production" });

        await Wait.UntilAsync(() => Task.FromResult(host.HasExited), TimeSpan.FromSeconds(60), () => host.Output);

        Assert.Equal(2, host.ExitCode);
        Assert.Contains($"{project} did not start: ", host.Output);
        Assert.Contains("ConnectionStrings__dispatch", host.Output);
        Assert.DoesNotContain("   at ", host.Output);
    }
}
