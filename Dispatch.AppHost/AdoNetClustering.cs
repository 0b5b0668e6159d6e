using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Orleans;

namespace Dispatch.AppHost;

/// <summary>
/// Orleans' ADO.NET clustering on the Dispatch database, for Aspire.Hosting.Orleans, which would otherwise name the provider after
/// the database resource's type: Orleans registers the ADO.NET providers as <c>AdoNet</c> and reads <c>Invariant</c> and the
/// connection's name, under <c>Orleans:Clustering</c> (Aspire hands the section's name without its <c>Orleans</c> prefix). The
/// hosts configure the same provider on the same table in code too, for runs without the AppHost (tests, the bench, a host run on
/// its own), and their reminders and grain storage on the same database.
/// </summary>
public sealed class AdoNetClustering(IResourceBuilder<IResourceWithConnectionString> database) : IProviderConfiguration
{
    public void ConfigureResource<T>(IResourceBuilder<T> resourceBuilder, string configSectionPath) where T : IResourceWithEnvironment =>
        resourceBuilder
            .WithEnvironment($"Orleans__{configSectionPath}__ProviderType", "AdoNet")
            .WithEnvironment($"Orleans__{configSectionPath}__Invariant", "Npgsql")
            .WithEnvironment($"Orleans__{configSectionPath}__ConnectionName", database.Resource.Name)
            .WithReference(database);
}
