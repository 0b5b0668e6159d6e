using Dispatch.ServiceDefaults;
using Dispatch.Silo;

return await HostStart.RunAsync("Dispatch.Silo", () =>
{
    var builder = WebApplication.CreateSlimBuilder(args);
    builder.AddServiceDefaults();
    builder.AddDispatchSilo();
    builder.Services.AddDispatchEngine();

    var app = builder.Build();
    app.MapDefaultEndpoints();
    return app;
}, beforeRun: SiloCommands.Find(args) is { } command ? host => command(host.Services) : null);

public partial class Program;
