namespace Dispatch.Tests.Infrastructure;

/// <summary>
/// Tests that measure time against the product's bounds (a deadline within 5 s of a silo's death) run alone, after the others:
/// on a two-core machine, other test classes running beside them would starve the silos they measure.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class Alone
{
    public const string Name = "alone";
}
