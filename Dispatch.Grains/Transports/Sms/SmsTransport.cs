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
        if (!TwilioSend.TryPrepare(message, options.Value, "SMS", out var send, out var refusal)) return refusal;
        var create = new CreateMessageOptions(new PhoneNumber(send.Phone))
        {
            From = new PhoneNumber(send.Account.From),
            Body = Text(message),
            StatusCallback = options.Value.PublicUrl is { } url ? new Uri(url, $"{StatusPath}?d={message.DeliveryId}") : null,
        };
        return await TwilioSend.RunAsync(async () =>
            (await MessageResource.CreateAsync(create, send.Account.Client(http.CreateClient(TwilioOptions.HttpClientName)))).Sid);
    }

    public static string Text(OutboundMessage m)
    {
        if (m.Heartbeat is not null) return SmsText.Compose($"DISPATCH: {m.Title}.", m.Description, "No reply needed.");
        var code = ReplyCodes.For(m.NotificationId);
        var address = m.Address is { Length: > 0 } a ? $"\n{a}" : "";
        if (m.Alert is { } alert)
            return SmsText.Compose($"PSAP ALERT ({EmailTransport.PriorityLabel(m.Priority)}): {alert.Headline(m.Title)}, after {alert.TiersTried}.{address}",
                "Reach them: " + string.Join("; ", EmailTransport.ContactLines(alert)), $"Reply {code} to confirm you saw this alert.");
        return SmsText.Compose($"[{EmailTransport.PriorityLabel(m.Priority)}] {m.Title}{address}", m.Description, $"Reply {code} to acknowledge.");
    }
}

/// <summary>What a text and a call share: whom to reach and through which account, and what Twilio's answer means.</summary>
internal static class TwilioSend
{
    public sealed record Prepared(string Phone, TwilioAccount Account);

    /// <summary>
    /// The recipient's number (their override, else the channel's) and the account that sends; when one is missing, the
    /// permanent failure that says which (so the next channel follows).
    /// </summary>
    public static bool TryPrepare(OutboundMessage message, TwilioOptions platform, string what,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Prepared? send, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out SendResult? refusal)
    {
        var channel = ChannelConfig.Read<ChannelConfig.Sms>(message.ChannelConfig);
        var phone = ChannelConfig.Read<ChannelConfig.Sms>(message.RecipientOverride).Phone ?? channel.Phone;
        var account = phone is null ? null : TwilioAccount.Of(channel.AccountSid, channel.AuthToken, channel.From, platform);
        send = phone is not null && account is { From: not null } ? new Prepared(phone, account) : null;
        refusal = send is not null ? null
            : phone is null ? SendResult.Permanent($"{message.RecipientName} has no phone number for this channel: set one in their {what} preference.")
            : SendResult.Permanent("No Twilio account and sending number for this channel or the platform (Dispatch:Twilio).");
        return send is not null;
    }

    /// <summary>Runs a request to Twilio: its SID when accepted; 429 and 5xx worth another try; any other refusal is final.</summary>
    public static async Task<SendResult> RunAsync(Func<Task<string>> request)
    {
        try
        {
            return SendResult.Sent(await request());
        }
        catch (ApiException e) when (e.Status is 429 or >= 500)
        {
            return SendResult.Transient($"Twilio {e.Status} ({e.Code}): {e.Message}");
        }
        catch (ApiException e) // a number that cannot take it, an opted-out recipient, wrong credentials: retrying will not help
        {
            return SendResult.Permanent($"Twilio {e.Status} ({e.Code}): {e.Message}");
        }
        catch (Exception e) when (e is ApiConnectionException or HttpRequestException or TaskCanceledException)
        {
            return SendResult.Transient($"Twilio unreachable: {e.GetBaseException().Message}");
        }
    }
}
