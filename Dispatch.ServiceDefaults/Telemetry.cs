using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
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
    /// Traces, metrics and logs through OpenTelemetry's hosting integration, exported over OTLP when
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the AppHost sets it to its dashboard; in production, the operator's collector).
    /// Health probes are not traced. Npgsql's traces and metrics are added by its Aspire client integration.
    /// </summary>
    public static IHostApplicationBuilder AddDispatchTelemetry(this IHostApplicationBuilder builder)
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeScopes = true;
            logging.IncludeFormattedMessage = true;
        });
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(builder.Environment.ApplicationName,
                serviceInstanceId: Environment.MachineName + ":" + Environment.ProcessId))
            .WithTracing(tracing => tracing
                .AddProcessor(new LoneQueriesUnrecorded())
                .AddSource(SourcePrefix + "*", "Microsoft.Orleans.Application") // grain calls; not the runtime's own (membership pings, timers)
                .AddAspNetCoreInstrumentation(aspnet => aspnet.Filter = context =>
                    !context.Request.Path.StartsWithSegments("/health") && !context.Request.Path.StartsWithSegments("/alive"))
                // .NET's own HttpClient spans; the instrumentation package would also rewrite a caller's traceparent header.
                .AddSource("System.Net.Http"))
            .WithMetrics(metrics => metrics
                .AddMeter(SourcePrefix + "*", "Microsoft.Orleans")
                .AddAspNetCoreInstrumentation()
                .AddMeter("System.Net.Http", "System.Net.NameResolution")
                .AddRuntimeInstrumentation());
        if (!string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointVariable]))
            otel.UseOtlpExporter();
        builder.Services.TryAddSingleton(TimeProvider.System);
        return builder;
    }

    /// <summary>
    /// A database command or connection that is not part of a request, a grain call or a delivery is not exported: the
    /// recovery scans and Orleans' own membership and reminder tables query PostgreSQL several times a second on every silo,
    /// and each such query would be a one-span trace burying the incidents' traces in the dashboard. (Our own data sources
    /// do not even start such spans; Orleans' ADO.NET providers open connections of their own.)
    /// </summary>
    public sealed class LoneQueriesUnrecorded : BaseProcessor<System.Diagnostics.Activity>
    {
        public override void OnStart(System.Diagnostics.Activity activity)
        {
            if (activity.Source.Name == "Npgsql" && activity.Parent is null && activity.ParentSpanId == default)
                activity.ActivityTraceFlags &= ~System.Diagnostics.ActivityTraceFlags.Recorded;
        }
    }
}
