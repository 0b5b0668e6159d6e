using Dispatch.ServiceDefaults;
using Dispatch.Silo;

var builder = WebApplication.CreateSlimBuilder(args);
builder.AddServiceDefaults();
builder.AddDispatchSilo();
builder.Services.AddDispatchEngine();

var app = builder.Build();
if (SiloCommands.Find(args) is { } command)
    return await command(app.Services);
app.MapDefaultEndpoints();
await app.RunAsync();
return 0;

public partial class Program;
