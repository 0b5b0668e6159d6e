namespace Dispatch.Grains.Storage;

/// <summary>
/// How a silo is named where it matters to recovery: a claim's <c>claimed_by</c> and the membership's dead silos are compared
/// with this one spelling (address, port and generation), so a restarted silo on the same endpoint is another silo.
/// </summary>
public static class SiloIdentity
{
    public static string Of(SiloAddress silo) => silo.ToParsableString();
}
