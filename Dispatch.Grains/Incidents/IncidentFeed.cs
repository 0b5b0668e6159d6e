using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Utilities;

namespace Dispatch.Grains.Incidents;

/// <summary>
/// Something about an incident changed, as its grain committed it: its status, a company's acknowledgement or tier, a delivery's
/// outcome, a PSAP alert. Only the incident's id and what kind of change: a screen reads the incident again through the API,
/// under its own caller's rights, so the feed carries nothing a subscriber could not already read.
/// </summary>
/// <param name="Change">created, assigned, acknowledged, resolved, closed, linked, escalated, delivery, changed.</param>
[GenerateSerializer, Immutable]
public sealed record IncidentEvent(Guid IncidentId, string Change, DateTimeOffset At);

public static class IncidentFeed
{
    /// <summary>How long a feed subscription lasts unless renewed (the Api renews every quarter of it).</summary>
    public static readonly TimeSpan Expiry = TimeSpan.FromMinutes(2);
}

/// <summary>A live screen's end of an agency's feed (the Api's, which passes the events on to browsers).</summary>
public interface IIncidentFeedObserver : IGrainObserver
{
    void OnIncidentChanged(IncidentEvent change);
}

/// <summary>
/// One agency's live feed of its incidents: the PSAP's own and, for a company, those it is assigned to. Incident grains publish to
/// it after each commit; subscribers (the Api's event streams) subscribe and renew their subscription before it expires.
/// </summary>
public interface IIncidentFeedGrain : IGrainWithGuidKey
{
    /// <summary>Subscribes (or renews) <paramref name="observer"/> for <see cref="IncidentFeed.Expiry"/>.</summary>
    Task SubscribeAsync(IIncidentFeedObserver observer);

    Task UnsubscribeAsync(IIncidentFeedObserver observer);

    /// <summary>One-way: the incident's grain never waits on a screen.</summary>
    [OneWay]
    Task PublishAsync(IncidentEvent change);
}

/// <summary>
/// Holds an agency's subscribers in memory (nothing here is durable: a screen that misses an event reads the incident again
/// when it reconnects). A subscriber not renewed within <see cref="IncidentFeed.Expiry"/> is dropped, so a dead Api leaves nothing behind.
/// </summary>
internal sealed class IncidentFeedGrain(ILogger<IncidentFeedGrain> logger) : Grain, IIncidentFeedGrain
{
    private readonly ObserverManager<IIncidentFeedObserver> _subscribers = new(IncidentFeed.Expiry, logger);

    public Task SubscribeAsync(IIncidentFeedObserver observer)
    {
        _subscribers.Subscribe(observer, observer);
        return Task.CompletedTask;
    }

    public Task UnsubscribeAsync(IIncidentFeedObserver observer)
    {
        _subscribers.Unsubscribe(observer);
        if (_subscribers.Count == 0) DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public Task PublishAsync(IncidentEvent change)
    {
        if (_subscribers.Count > 0) _subscribers.Notify(o => o.OnIncidentChanged(change));
        return Task.CompletedTask;
    }
}
