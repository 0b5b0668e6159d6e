using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Dispatch.ServiceDefaults;

public static class Telemetry
{
    /// <summary>Every Dispatch component names its ActivitySource and Meter <c>Dispatch.&lt;Component&gt;</c>.</summary>
    public const string SourcePrefix = "Dispatch.";

    private const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>
    /// Traces, metrics and logs through one OpenTelemetry SDK, exported over OTLP when
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set; flushed and disposed when the host is disposed.
    /// </summary>
    public static IHostApplicationBuilder AddDispatchTelemetry(this IHostApplicationBuilder builder)
    {
        var exportOtlp = !string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointVariable]);
        var serviceName = builder.Environment.ApplicationName;
        var sdk = OpenTelemetrySdk.Create(otel =>
        {
            otel.ConfigureResource(resource => resource.AddService(serviceName, serviceInstanceId: Environment.MachineName + ":" + Environment.ProcessId));
            otel.WithTracing(tracing =>
            {
                tracing.AddSource(SourcePrefix + "*", "Microsoft.AspNetCore", "Npgsql", "System.Net.Http", "Microsoft.Orleans.Runtime",
                    "Microsoft.Orleans.Application");
                if (exportOtlp) tracing.AddOtlpExporter();
            });
            otel.WithMetrics(metrics =>
            {
                metrics.AddMeter(SourcePrefix + "*", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel",
                    "System.Net.Http", "Npgsql", "System.Runtime", "Microsoft.Orleans");
                if (exportOtlp) metrics.AddOtlpExporter();
            });
            otel.WithLogging(logging =>
            {
                if (exportOtlp) logging.AddOtlpExporter();
            }, options =>
            {
                options.IncludeScopes = true;
                options.IncludeFormattedMessage = true;
            });
        });

        builder.Logging.AddProvider(new SdkLoggerProvider(sdk.GetLoggerFactory()));
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddHostedService(_ => new TelemetryLifetime(sdk));
        return builder;
    }

    /// <summary>Hands host loggers to the SDK's logger factory.</summary>
    private sealed class SdkLoggerProvider(ILoggerFactory factory) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => factory.CreateLogger(categoryName);

        public void Dispose()
        {
        }
    }

    /// <summary>Owns the SDK so that the container disposes it, flushing exporters, after every other service stopped.</summary>
    private sealed class TelemetryLifetime(OpenTelemetrySdk sdk) : IHostedService, IDisposable
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose() => sdk.Dispose();
    }
}
