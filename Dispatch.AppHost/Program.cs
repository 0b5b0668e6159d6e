using System.Runtime.InteropServices;
using Dispatch.AppHost;

AppHostOptions? options;
try
{
    options = AppHostOptions.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(AppHostOptions.Usage);
    return 2;
}
if (options is null)
{
    Console.WriteLine(AppHostOptions.Usage);
    return 0;
}

using var stopping = new CancellationTokenSource();
void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stopping.Cancel();
}
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

return await new Orchestrator(options, Console.Out).RunAsync(stopping.Token);
