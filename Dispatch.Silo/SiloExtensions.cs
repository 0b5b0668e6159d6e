namespace Dispatch.Silo;

public static class SiloExtensions
{
    /// <summary>
    /// The Silo's work loops (deliveries, escalations, callbacks, CFS inbox), each a BackgroundService
    /// that claims due rows with FOR UPDATE SKIP LOCKED. None is registered yet: the skeleton only hosts.
    /// </summary>
    public static IServiceCollection AddSiloWorkLoops(this IServiceCollection services) => services;
}
