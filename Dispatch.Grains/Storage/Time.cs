namespace Dispatch.Grains.Storage;

/// <summary>timestamptz arrives as a UTC <see cref="DateTime"/>; the domain speaks <see cref="DateTimeOffset"/>.</summary>
public static class Time
{
    public static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));

    public static DateTimeOffset? Utc(DateTime? value) => value is null ? null : Utc(value.Value);

    /// <summary>
    /// The current instant as PostgreSQL stores it (microseconds, UTC): what a grain writes and what it keeps in memory are the
    /// same value, so an answer from memory equals one read back.
    /// </summary>
    public static DateTimeOffset Stored(TimeProvider time)
    {
        var now = time.GetUtcNow().UtcDateTime;
        return new DateTimeOffset(now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMicrosecond)), TimeSpan.Zero);
    }

    /// <summary>An IANA time zone (such as America/Chicago, or UTC) by its id; null for anything else, Windows ids included.</summary>
    public static TimeZoneInfo? Zone(string? id) =>
        id is not null && (id.Contains('/') || id == "UTC") && TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) && zone.HasIanaId ? zone : null;
}
