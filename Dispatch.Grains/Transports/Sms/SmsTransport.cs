using Dispatch.Grains.Transports.Email;
using Microsoft.Extensions.Options;
using Twilio.Clients;
using Twilio.Exceptions;
using Twilio.Http;
using Twilio.Rest.Api.V2010.Account;
using Twilio.Types;

namespace Dispatch.Grains.Transports.Sms;

/// <summary>
/// <c>Dispatch:Twilio</c>: the platform's Twilio account, used by SMS and voice channels that name none of their own, and where
/// Twilio's REST API is (its real address unless a test or a regional edge says otherwise).
/// </summary>
public sealed class TwilioOptions
{
    public const string Section = "Dispatch:Twilio";
    public const string HttpClientName = "twilio";

    public string? AccountSid { get; set; }
    public string? AuthToken { get; set; }

    /// <summary>The platform's sending number (E.164).</summary>
    public string? From { get; set; }

    public Uri ApiBaseUrl { get; set; } = new("https://api.twilio.com");

    /// <summary>Dispatch's public address, where Twilio posts status callbacks and fetches voice instructions.</summary>
    public Uri? PublicUrl { get; set; }
}

/// <summary>A channel's Twilio account, or the platform's.</summary>
public sealed record TwilioAccount(string AccountSid, string AuthToken, string? From)
{
    public static TwilioAccount? Of(string? channelSid, string? channelToken, string? channelFrom, TwilioOptions platform) =>
        channelSid is { Length: > 0 } && channelToken is { Length: > 0 } ? new(channelSid, channelToken, channelFrom ?? platform.From)
        : platform.AccountSid is { Length: > 0 } sid && platform.AuthToken is { Length: > 0 } token ? new(sid, token, channelFrom ?? platform.From)
        : null;

    public ITwilioRestClient Client(System.Net.Http.HttpClient http) =>
        new TwilioRestClient(AccountSid, AuthToken, accountSid: AccountSid, httpClient: new SystemNetHttpClient(http));
}

/// <summary>
/// Sends Twilio's requests to <see cref="TwilioOptions.ApiBaseUrl"/>: the SDK always addresses api.twilio.com, so a regional
/// edge or a test's local Twilio is reached by rewriting the request's scheme, host and port, nothing else.
/// </summary>
public sealed class TwilioBaseAddress(IOptions<TwilioOptions> options) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var target = options.Value.ApiBaseUrl;
        if (request.RequestUri is { } uri && uri.Host.EndsWith("twilio.com", StringComparison.OrdinalIgnoreCase) && target.Host != uri.Host)
            request.RequestUri = new UriBuilder(uri) { Scheme = target.Scheme, Host = target.Host, Port = target.Port }.Uri;
        return base.SendAsync(request, cancellationToken);
    }
}

/// <summary>
/// A text message through Twilio: the priority, title and address whole, the description trimmed to four segments, and the
/// four-digit code a reply acknowledges with. Twilio's delivery reports come back to <c>/hooks/sms/twilio/status</c>.
/// </summary>
public sealed class SmsTransport(IHttpClientFactory http, IOptions<TwilioOptions> options) : ITransport
{
    public string Slug => TransportSlug.Sms;

    public const string StatusPath = "/hooks/sms/twilio/status";

    public async Task<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        var channel = ChannelConfig.Read<ChannelConfig.Sms>(message.ChannelConfig);
        var personal = ChannelConfig.Read<ChannelConfig.Sms>(message.RecipientOverride);
        var platform = options.Value;
        var phone = personal.Phone ?? channel.Phone;
        if (phone is null) return SendResult.Permanent($"{message.RecipientName} has no phone number for this channel: set one in their SMS preference.");
        if (TwilioAccount.Of(channel.AccountSid, channel.AuthToken, channel.From, platform) is not { From: { } from } account)
            return SendResult.Permanent("No Twilio account and sending number for this channel or the platform (Dispatch:Twilio).");

        var create = new CreateMessageOptions(new PhoneNumber(phone))
        {
            From = new PhoneNumber(from),
            Body = Text(message),
            StatusCallback = platform.PublicUrl is { } url ? new Uri(url, StatusPath) : null,
        };
        try
        {
            var sent = await MessageResource.CreateAsync(create, account.Client(http.CreateClient(TwilioOptions.HttpClientName)));
            return SendResult.Sent(sent.Sid);
        }
        catch (ApiException e) when (e.Status is 429 or >= 500)
        {
            return SendResult.Transient($"Twilio {e.Status} ({e.Code}): {e.Message}");
        }
        catch (ApiException e) // a number that cannot take texts, an opted-out recipient, wrong credentials: retrying will not help
        {
            return SendResult.Permanent($"Twilio {e.Status} ({e.Code}): {e.Message}");
        }
        catch (Exception e) when (e is ApiConnectionException or HttpRequestException or TaskCanceledException)
        {
            return SendResult.Transient($"Twilio unreachable: {e.GetBaseException().Message}");
        }
    }

    public static string Text(OutboundMessage m)
    {
        var code = ReplyCodes.For(m.NotificationId);
        var address = m.Address is { Length: > 0 } a ? $"\n{a}" : "";
        if (m.Alert is { } alert)
            return SmsText.Compose($"PSAP ALERT ({EmailTransport.PriorityLabel(m.Priority)}): {alert.Headline(m.Title)}, after {alert.TiersTried}.{address}",
                "Reach them: " + string.Join("; ", EmailTransport.ContactLines(alert)), $"Reply {code} to confirm you saw this alert.");
        return SmsText.Compose($"[{EmailTransport.PriorityLabel(m.Priority)}] {m.Title}{address}", m.Description, $"Reply {code} to acknowledge.");
    }
}
