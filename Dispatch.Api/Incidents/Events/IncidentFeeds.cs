using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Dispatch.Api.Incidents.Events;

/// <summary>
/// The Api's end of the agencies' live incident feeds: one Orleans observer per agency that has a screen open here, subscribed
/// to that agency's <see cref="IIncidentFeedGrain"/> and renewed well before the grain would drop it; each open screen reads its
/// own bounded channel. Nothing is read from the database: the incident grains' own events are passed on.
/// </summary>
public sealed class IncidentFeeds(IClusterClient grains, SiloConnection silo, TimeProvider time, ILogger<IncidentFeeds> logger) : BackgroundService
{
    private static readonly TimeSpan Renewal = IncidentFeed.Expiry / 4;
    private readonly ConcurrentDictionary<Guid, AgencyFeed> _feeds = new();

    /// <summary>A screen of <paramref name="agencyId"/> starts watching: its events from the moment the subscription stands.</summary>
    public async Task<Watcher> WatchAsync(Guid agencyId, CancellationToken cancellationToken)
    {
        var feed = _feeds.GetOrAdd(agencyId, id => new AgencyFeed(id, grains));
        var watcher = feed.Add(this);
        try
        {
            await feed.SubscribeAsync(); // before the screen is told it is live: nothing committed after that is missed
        }
        catch
        {
            watcher.Dispose();
            throw;
        }
        return watcher;
    }

    private void Left(AgencyFeed feed)
    {
        if (!feed.Empty) return;
        if (_feeds.TryRemove(new KeyValuePair<Guid, AgencyFeed>(feed.AgencyId, feed))) _ = feed.UnsubscribeAsync(logger);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(Renewal, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (!silo.IsConnected) continue;
            foreach (var feed in _feeds.Values)
            {
                try
                {
                    await feed.SubscribeAsync();
                }
                catch (Exception e) when (e is OrleansException or TimeoutException)
                {
                    logger.LogWarning("Live feed of agency {AgencyId} not renewed ({Error}); trying again in {Seconds} s", feed.AgencyId, e.GetType().Name,
                        Renewal.TotalSeconds);
                }
            }
        }
    }

    /// <summary>One open screen's events; disposing it stops the watch.</summary>
    public sealed class Watcher(AgencyFeed feed, IncidentFeeds feeds) : IDisposable
    {
        private readonly Channel<IncidentEvent> _events = Channel.CreateBounded<IncidentEvent>(
            new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

        public ChannelReader<IncidentEvent> Events => _events.Reader;

        internal void Write(IncidentEvent change) => _events.Writer.TryWrite(change);

        public void Dispose()
        {
            _events.Writer.TryComplete();
            feed.Remove(this);
            feeds.Left(feed);
        }
    }

    /// <summary>One agency's subscription, and the screens watching it.</summary>
    public sealed class AgencyFeed(Guid agencyId, IClusterClient grains) : IIncidentFeedObserver
    {
        private readonly ConcurrentDictionary<Watcher, byte> _watchers = new();
        private IIncidentFeedObserver? _reference;

        public Guid AgencyId => agencyId;
        public bool Empty => _watchers.IsEmpty;

        internal Watcher Add(IncidentFeeds feeds)
        {
            var watcher = new Watcher(this, feeds);
            _watchers[watcher] = 0;
            return watcher;
        }

        internal void Remove(Watcher watcher) => _watchers.TryRemove(watcher, out _);

        public void OnIncidentChanged(IncidentEvent change)
        {
            foreach (var watcher in _watchers.Keys) watcher.Write(change);
        }

        internal Task SubscribeAsync()
        {
            _reference ??= grains.CreateObjectReference<IIncidentFeedObserver>(this);
            return grains.GetGrain<IIncidentFeedGrain>(agencyId).SubscribeAsync(_reference);
        }

        internal async Task UnsubscribeAsync(ILogger logger)
        {
            if (_reference is null) return;
            try
            {
                await grains.GetGrain<IIncidentFeedGrain>(agencyId).UnsubscribeAsync(_reference);
            }
            catch (Exception e) when (e is OrleansException or TimeoutException)
            {
                logger.LogDebug("Live feed of agency {AgencyId}: unsubscribe left to expiry ({Error})", agencyId, e.GetType().Name);
            }
            grains.DeleteObjectReference<IIncidentFeedObserver>(_reference);
        }
    }
}
