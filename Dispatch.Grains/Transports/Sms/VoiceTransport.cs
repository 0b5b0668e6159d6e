using Microsoft.Extensions.Options;
using Twilio.Exceptions;
using Twilio.Rest.Api.V2010.Account;
using Twilio.Types;

namespace Dispatch.Grains.Transports.Sms;

/// <summary>
/// A phone call through Twilio. Twilio fetches what to say from <c>/hooks/voice/twilio</c> when the call is answered (the
/// incident read out, 1 acknowledges, 2 repeats) and reports the call's end to <c>/hooks/voice/twilio/status</c>: no answer, a
/// busy line, a failed call or a voicemail count as not delivered, so the person's next channel (or the next tier) follows.
/// </summary>
public sealed class VoiceTransport(IHttpClientFactory http, IOptions<TwilioOptions> options) : ITransport
{
    public const string Path = "/hooks/voice/twilio";
    public const string StatusPath = "/hooks/voice/twilio/status";

    public string Slug => TransportSlug.Voice;

    public async Task<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        var channel = ChannelConfig.Read<ChannelConfig.Sms>(message.ChannelConfig);
        var personal = ChannelConfig.Read<ChannelConfig.Sms>(message.RecipientOverride);
        var platform = options.Value;
        var phone = personal.Phone ?? channel.Phone;
        if (phone is null) return SendResult.Permanent($"{message.RecipientName} has no phone number for this channel: set one in their voice preference.");
        if (TwilioAccount.Of(channel.AccountSid, channel.AuthToken, channel.From, platform) is not { From: { } from } account)
            return SendResult.Permanent("No Twilio account and calling number for this channel or the platform (Dispatch:Twilio).");
        if (platform.PublicUrl is not { } publicUrl)
            return SendResult.Permanent("A call needs Dispatch:PublicUrl: Twilio fetches what to say from Dispatch when the call is answered.");

        var call = new CreateCallOptions(new PhoneNumber(phone), new PhoneNumber(from))
        {
            Url = new Uri(publicUrl, $"{Path}?d={message.DeliveryId}"),
            Method = Twilio.Http.HttpMethod.Post,
            StatusCallback = new Uri(publicUrl, StatusPath),
            StatusCallbackEvent = ["completed"],
            StatusCallbackMethod = Twilio.Http.HttpMethod.Post,
            MachineDetection = "Enable", // a voicemail answers: counted as not delivered
            Timeout = 30,
        };
        try
        {
            var placed = await CallResource.CreateAsync(call, account.Client(http.CreateClient(TwilioOptions.HttpClientName)));
            return SendResult.Sent(placed.Sid);
        }
        catch (ApiException e) when (e.Status is 429 or >= 500)
        {
            return SendResult.Transient($"Twilio {e.Status} ({e.Code}): {e.Message}");
        }
        catch (ApiException e)
        {
            return SendResult.Permanent($"Twilio {e.Status} ({e.Code}): {e.Message}");
        }
        catch (Exception e) when (e is ApiConnectionException or HttpRequestException or TaskCanceledException)
        {
            return SendResult.Transient($"Twilio unreachable: {e.GetBaseException().Message}");
        }
    }
}
