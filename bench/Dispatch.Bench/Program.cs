using Dispatch.Bench;

// dotnet run -c Release --project bench/Dispatch.Bench -- [--incidents N] [--concurrency C] [--pgbench-seconds S]
// dotnet run -c Release --project bench/Dispatch.Bench -- --scenario count [--incidents N] [--silos S] [--idle-seconds I]
// dotnet run -c Release --project bench/Dispatch.Bench -- --scenario channels [--incidents N] [--concurrency C] [--pgbench-seconds S]
// dotnet run -c Release --project bench/Dispatch.Bench -- --scenario cfs [--files F] [--records R] [--pgbench-seconds S]
// dotnet run -c Release --project bench/Dispatch.Bench -- --scenario eido [--incidents N] [--concurrency C] [--pgbench-seconds S]
var options = BenchOptions.Parse(args);
return await new Harness(options, Console.Out).RunAsync();
