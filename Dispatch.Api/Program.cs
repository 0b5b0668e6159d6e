using Dispatch.Api;
using Dispatch.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddDispatchApi();

var app = builder.Build();
app.UseDispatchApi();
app.MapDefaultEndpoints();
app.Run();

public partial class Program;
