namespace Dispatch.Api;

public static class ApiExtensions
{
    public static WebApplicationBuilder AddDispatchApi(this WebApplicationBuilder builder)
    {
        builder.Services.AddOpenApi("v1");
        return builder;
    }

    public static WebApplication UseDispatchApi(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapOpenApi("/openapi/{documentName}.json");
        if (app.Environment.IsDevelopment())
            app.UseSwaggerUI(options => options.SwaggerEndpoint("/openapi/v1.json", "Dispatch v1"));
        return app;
    }
}
