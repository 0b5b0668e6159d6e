using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dispatch.Tests.Infrastructure;

namespace Dispatch.Tests.Deliveries;

public sealed class DeliveryTraceTests : IdentityHost
{
    private readonly string _mail = Dispatch.Testing.TestRun.NewFolder("trace-");

    // The silo runs in this process (so the listener below sees its grains' spans) and drops mail in a folder.
    protected override IReadOnlyDictionary<string, string?> HostExtras => new Dictionary<string, string?> { ["Dispatch:Email:PickupDirectory"] = _mail };

    [Fact]
    public async Task The_silos_send_span_continues_the_trace_of_the_creating_request()
    {
        var spans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "Dispatch.Deliveries",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => { lock (spans) spans.Add(a); },
        };
        ActivitySource.AddActivityListener(listener);
        var (gasco, email, password) = await OnboardCompanyAsync("gasco");
        using var company = As("Bearer " + (await LoginAsync(email, password)).AccessToken);
        (await company.PostAsJsonAsync("/api/v1/transport-channels", new { transportType = "email", name = "mail", config = new { } })).EnsureSuccessStatusCode();
        using var admin = await AsAdminAsync();
        var traceId = ActivityTraceId.CreateRandom();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/incidents")
        {
            Content = JsonContent.Create(new { priority = "critical", title = "Traced", agencyIds = new[] { gasco } }),
        };
        request.Headers.Add("traceparent", $"00-{traceId.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        (await admin.SendAsync(request)).EnsureSuccessStatusCode();

        await Wait.UntilAsync(() => { lock (spans) return Task.FromResult(spans.Any(s => s.OperationName == "deliver email" && s.TraceId == traceId)); },
            TimeSpan.FromSeconds(30));

        var span = Assert.Single(spans, s => s.OperationName == "deliver email" && s.TraceId == traceId);
        Assert.Equal("sent", span.GetTagItem("dispatch.delivery.result"));
        Assert.Single(Directory.GetFiles(_mail, "*.eml"));
        Directory.Delete(_mail, true);
    }
}
