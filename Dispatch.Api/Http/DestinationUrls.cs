using Dispatch.Grains.Transports;

namespace Dispatch.Api.Http;

/// <summary>
/// A URL Dispatch will connect to on a customer's behalf (a CAD system's callbacks, a PSAP's EIDO notifier): absolute, without
/// credentials in it, over the secure scheme — or the plain one on a loopback address in development — and to a destination the
/// outbound policy allows.
/// </summary>
internal static class DestinationUrls
{
    /// <param name="secure">The scheme required (<c>https</c>, <c>wss</c>).</param>
    /// <param name="plain">Its plain twin, taken on loopback in development only (<c>http</c>, <c>ws</c>).</param>
    /// <returns>Why <paramref name="value"/> cannot be used, as a sentence naming <paramref name="field"/>; null when it can.</returns>
    public static async Task<string?> ErrorAsync(string field, string value, string secure, string plain, bool development, OutboundPolicy outbound)
    {
        if (!(Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri) && string.IsNullOrEmpty(uri.UserInfo)
              && (uri.Scheme == secure || (development && uri.Scheme == plain && uri.IsLoopback))))
            return development
                ? $"{field} must be an absolute {secure} URL without credentials in it (or {plain} on a loopback address in development)."
                : $"{field} must be an absolute {secure} URL without credentials in it.";
        return await outbound.CheckUrlAsync(uri) is { } refusal ? $"The URL is refused: {refusal}" : null;
    }
}
