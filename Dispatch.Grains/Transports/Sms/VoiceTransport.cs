using Microsoft.Extensions.Options;
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
        if (!TwilioSend.TryPrepare(message, options.Value, "voice", out var send, out var refusal)) return refusal;
        if (options.Value.PublicUrl is not { } publicUrl)
            return SendResult.Permanent("A call needs Dispatch:PublicUrl: Twilio fetches what to say from Dispatch when the call is answered.");
        var call = new CreateCallOptions(new PhoneNumber(send.Phone), new PhoneNumber(send.Account.From))
        {
            Url = new Uri(publicUrl, $"{Path}?d={message.DeliveryId}"),
            Method = Twilio.Http.HttpMethod.Post,
            StatusCallback = new Uri(publicUrl, $"{StatusPath}?d={message.DeliveryId}"),
            StatusCallbackEvent = ["completed"],
            StatusCallbackMethod = Twilio.Http.HttpMethod.Post,
            MachineDetection = "Enable", // a voicemail answers: counted as not delivered
            Timeout = 30,
        };
        return await TwilioSend.RunAsync(async () =>
            (await CallResource.CreateAsync(call, send.Account.Client(http.CreateClient(TwilioOptions.HttpClientName)))).Sid);
    }
}
