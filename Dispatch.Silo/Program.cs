using Dispatch.ServiceDefaults;
using Dispatch.Silo;

var builder = WebApplication.CreateSlimBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddSiloWorkLoops();

var app = builder.Build();
app.MapDefaultEndpoints();
app.Run();

public partial class Program;
