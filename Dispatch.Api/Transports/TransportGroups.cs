using FastEndpoints;

namespace Dispatch.Api.Transports;

/// <summary><c>/api/v1/transport-channels</c>: a company's ways of reaching its people.</summary>
public sealed class ChannelsGroup : Group
{
    public ChannelsGroup() => Configure("/api/v1/transport-channels", ep => ep.Description(d => d.WithTags("Transports")));
}

/// <summary><c>/api/v1/notification-rules</c>: which channels serve which incidents, and when.</summary>
public sealed class RulesGroup : Group
{
    public RulesGroup() => Configure("/api/v1/notification-rules", ep => ep.Description(d => d.WithTags("Transports")));
}

/// <summary><c>/api/v1/users/{id}/transport-preferences</c>: one user's channels in order.</summary>
public sealed class PreferencesGroup : Group
{
    public PreferencesGroup() => Configure("/api/v1/users/{id:guid}/transport-preferences", ep => ep.Description(d => d.WithTags("Transports")));
}

