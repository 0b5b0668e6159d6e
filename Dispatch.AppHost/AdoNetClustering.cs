using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Orleans;

namespace Dispatch.AppHost;

/// <summary>
/// Orleans' ADO.NET clustering on the Dispatch database, for Aspire.Hosting.Orleans, which would otherwise name the provider after
/// the database resource's type: Orleans registers the ADO.NET providers as <c>AdoNet</c> and reads <c>Invariant</c> and the
/// connection's name. (The silos configure their reminders and grain storage on the same database themselves.)
/// </summary>
public sealed class AdoNetClustering(IResourceBuilder<IResourceWithConnectionString> database) : IProviderConfiguration
{
    public void ConfigureResource<T>(IResourceBuilder<T> resourceBuilder, string configSectionPath) where T : IResourceWithEnvironment =>
        resourceBuilder
            .WithEnvironment($"{configSectionPath}__ProviderType", "AdoNet")
            .WithEnvironment($"{configSectionPath}__Invariant", "Npgsql")
            .WithEnvironment($"{configSectionPath}__ConnectionName", database.Resource.Name)
            .WithReference(database);
}
