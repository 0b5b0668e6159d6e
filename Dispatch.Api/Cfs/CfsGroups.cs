using FastEndpoints;

namespace Dispatch.Api.Cfs;

/// <summary><c>/api/v1/cfs-configurations</c>: the PSAP's CAD inboxes.</summary>
public sealed class ConfigurationsGroup : Group
{
    public ConfigurationsGroup() => Configure("/api/v1/cfs-configurations", ep => ep.Description(d => d.WithTags("CFS intake")));
}

/// <summary><c>/api/v1/cfs-incidents</c>: the calls for service read from them.</summary>
public sealed class CallsGroup : Group
{
    public CallsGroup() => Configure("/api/v1/cfs-incidents", ep => ep.Description(d => d.WithTags("CFS intake")));
}

