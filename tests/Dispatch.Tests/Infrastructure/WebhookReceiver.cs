using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Dispatch.Tests.Infrastructure;

/// <summary>A real HTTP endpoint on loopback that records what a webhook channel POSTs and answers as told.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    public sealed record Received(string Body, string Timestamp, string Signature, string IdempotencyKey, string EventId);

    public ConcurrentQueue<Received> Requests { get; } = new();

    /// <summary>Every request's body the moment it arrived (before any <see cref="Delay"/>).</summary>
    public ConcurrentQueue<(DateTimeOffset At, string Body)> Arrivals { get; } = new();

    private int _arrived;

    /// <summary>Requests that have arrived, including those still waiting out <see cref="Delay"/>.</summary>
    public int Arrived => Volatile.Read(ref _arrived);
    public int StatusCode { get; set; } = 200;
    public TimeSpan Delay { get; set; } = TimeSpan.Zero;
    public Uri Url { get; }

    private WebhookReceiver(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public static async Task<WebhookReceiver> StartAsync()
    {
        var port = Dispatch.Testing.LoopbackPort.Free();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, new Uri($"http://127.0.0.1:{port}/hook"));
        // Also under /hook/…, for URLs that carry a token in their path.
        app.MapPost("/hook/{**rest}", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            var body = await reader.ReadToEndAsync();
            receiver.Arrivals.Enqueue((DateTimeOffset.UtcNow, body));
            Interlocked.Increment(ref receiver._arrived);
            if (receiver.Delay > TimeSpan.Zero) await Task.Delay(receiver.Delay);
            receiver.Requests.Enqueue(new Received(body, request.Headers["X-Dispatch-Timestamp"].ToString(),
                request.Headers["X-Dispatch-Signature"].ToString(), request.Headers["Idempotency-Key"].ToString(),
                request.Headers["X-Dispatch-Event-Id"].ToString()));
            return Results.StatusCode(receiver.StatusCode);
        });
        await app.StartAsync();
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
