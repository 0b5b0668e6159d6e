using Dispatch.Api;
using Dispatch.ServiceDefaults;

return await HostStart.RunAsync("Dispatch.Api", () =>
{
    var builder = WebApplication.CreateBuilder(args);
    builder.AddServiceDefaults();
    builder.AddDispatchApi();

    var app = builder.Build();
    app.UseDispatchApi();
    app.MapDefaultEndpoints();
    return app;
});

public partial class Program;
