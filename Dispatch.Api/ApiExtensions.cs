using Dispatch.Api.Auth;
using Dispatch.Api.Http;
using FastEndpoints;

namespace Dispatch.Api;

public static class ApiExtensions
{
    public static WebApplicationBuilder AddDispatchApi(this WebApplicationBuilder builder)
    {
        builder.AddDispatchAuth();
        builder.AddSiloClient();
        builder.AddRequestAdmission();
        builder.Services.AddExceptionHandler<Http.BadRequestHandler>();
        builder.Services.AddProblemDetails(); // before the fallback writer, so that ASP.NET Core's writer is asked first
        builder.Services.AddSingleton<IProblemDetailsWriter, Http.ProblemJsonWriter>();
        builder.Services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationMiddlewareResultHandler, Http.PermissionDenied>();
        builder.Services.AddSingleton(sp => Grains.Transports.OutboundPolicy.FromConfiguration(builder.Configuration, builder.Environment.IsDevelopment()));
        builder.Services.AddSingleton(Grains.Cfs.CfsInboxRoot.FromConfiguration(builder.Configuration));
        builder.Services.AddSingleton<Cfs.Configurations.InboxScanners>();
        builder.Services.AddSingleton<Eido.EidoSubscribers>();
        builder.Services.AddSingleton<Incidents.Events.IncidentFeeds>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Incidents.Events.IncidentFeeds>());
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        builder.Services.AddSingleton(sp => Grains.Notifications.AckLinks.FromConfiguration(sp.GetRequiredService<IConfiguration>())!);
        // Every endpoint is a FastEndpoints class (Dispatch.Api/<Feature>/<UseCase>/); the document describes them as they bind.
        builder.Services.AddFastEndpoints(options => options.Assemblies = [typeof(ApiExtensions).Assembly]);
        builder.Services.AddOpenApi("v1", options => options.AddDocumentTransformer<Http.SecuritySchemes>().AddOperationTransformer<Http.SecuritySchemes>()
            .AddOperationTransformer<Http.EndpointParameters>());
        return builder;
    }

    public static WebApplication UseDispatchApi(this WebApplication app)
    {
        app.UseSecurityHeaders();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRateLimiter(); // before anything a request costs: authentication, validation, queries
        app.UseInputGuard(); // before routing: routing matches an endpoint by the request's Content-Type
        app.UseRouting();
        app.UseMediaTypeProblems();
        Auth.PrincipalCache.UseForgetOnAccessChange(app);
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapOpenApi("/openapi/{documentName}.json");
        if (app.Environment.IsDevelopment())
            app.UseSwaggerUI(options => options.SwaggerEndpoint("/openapi/v1.json", "Dispatch v1"));

        app.UseFastEndpoints(FastEndpointsSetup.Configure);
        return app;
    }
}
