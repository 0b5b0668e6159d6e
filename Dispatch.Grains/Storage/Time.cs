namespace Dispatch.Grains.Storage;

/// <summary>timestamptz arrives as a UTC <see cref="DateTime"/>; the domain speaks <see cref="DateTimeOffset"/>.</summary>
public static class Time
{
    public static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));

    public static DateTimeOffset? Utc(DateTime? value) => value is null ? null : Utc(value.Value);
}
