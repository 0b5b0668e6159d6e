using Dispatch.Grains.Notifications;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Twilio.Security;

namespace Dispatch.Grains.Transports.Sms;

/// <summary>A request Twilio posted to one of Dispatch's hooks: the URL it signed, its form fields and its signature.</summary>
[GenerateSerializer, Immutable]
public sealed record TwilioRequest(string Url, IReadOnlyDictionary<string, string> Form, string? Signature);

/// <summary>What to tell the sender of a text; <see cref="Verified"/> false when the request was not Twilio's.</summary>
[GenerateSerializer, Immutable]
public sealed record TwilioAnswer(bool Verified, string? Reply = null);

/// <summary>Where Twilio's posts are believed and acted on: replies that acknowledge, and delivery reports.</summary>
public interface ITwilioInboxGrain : IGrainWithIntegerKey
{
    /// <summary>A text someone sent to a Dispatch number: acknowledges the notification whose code it carries, and says so.</summary>
    Task<TwilioAnswer> ReceiveAsync(TwilioRequest request);

    /// <summary>
    /// Twilio's report on a text it was given: a text the carrier could not deliver fails over to the next channel. The report
    /// names its delivery (<c>?d=</c> in the URL it was given, under the signature): it can come before the send's outcome — and
    /// with it Twilio's id for the text — is recorded. Null for a report without one.
    /// </summary>
    Task<TwilioAnswer> StatusAsync(TwilioRequest request, Guid? deliveryId);

    /// <summary>
    /// A call Dispatch placed was answered, or its listener pressed a key: the TwiML to play (in <see cref="TwilioAnswer.Reply"/>).
    /// 1 acknowledges, 2 repeats; a voicemail is hung up on and the delivery fails over.
    /// </summary>
    Task<TwilioAnswer> CallAsync(TwilioRequest request, Guid deliveryId);

    /// <summary>Twilio's report that a call ended: no answer, busy, failed or cancelled fails over to the next channel; its delivery as for a text's.</summary>
    Task<TwilioAnswer> CallStatusAsync(TwilioRequest request, Guid? deliveryId);
}

/// <summary>
/// Believes a post only when its <c>X-Twilio-Signature</c> verifies (Twilio's own validator) with the auth token of the account
/// it names — the platform's, or an SMS channel's — and acts through the incident's grain like any other acknowledgement. A
/// stateless worker: nothing here is held between posts.
/// </summary>
[StatelessWorker]
internal sealed class TwilioInboxGrain(DispatchStore store, IOptions<TwilioOptions> options, TimeProvider time, ILogger<TwilioInboxGrain> logger)
    : Grain, ITwilioInboxGrain
{
    /// <summary>How long after a text was sent its code is still taken.</summary>
    public static readonly TimeSpan CodeLifetime = TimeSpan.FromDays(2);

    public async Task<TwilioAnswer> ReceiveAsync(TwilioRequest request)
    {
        if (!await VerifiedAsync(request)) return new TwilioAnswer(false);
        var from = request.Form.GetValueOrDefault("From") ?? "";
        var body = request.Form.GetValueOrDefault("Body");
        if (ReplyCodes.In(body) is not { } code)
            return new TwilioAnswer(true, "Dispatch: to acknowledge an alert, reply with the 4-digit code it ends with (for example ACK 1234).");

        var matches = await SentToAsync(from, code);
        if (matches.Count == 0)
            return new TwilioAnswer(true, $"Dispatch: no recent alert to this number has the code {code}. Check the code in the message, or use its link.");
        if (matches.Select(m => m.NotificationId).Distinct().Count() > 1)
            return new TwilioAnswer(true, $"Dispatch: the code {code} matches more than one alert to this number; nothing was acknowledged. Use the app or the email link.");

        var match = matches[0];
        if (await InboundAcks.AcknowledgeAsync(GrainFactory, match.IncidentId, match.AgencyId, match.NotifiedUserId, match.NotificationId,
                AckSource.SmsReply, logger) is not { } ack)
            return new TwilioAnswer(true, "Dispatch: that alert can no longer be acknowledged.");
        var reply = ack.Kind == "psap_alert"
            ? ack.Repeated ? "Dispatch: already recorded that you saw this alert." : $"Dispatch: recorded that you saw the alert about {ack.AboutCompanyName}. It does not acknowledge for them."
            : ack.Repeated ? $"Dispatch: already acknowledged at {ack.AckedAt:HH:mm} UTC." : "Dispatch: acknowledged. Thank you.";
        return new TwilioAnswer(true, reply);
    }

    public async Task<TwilioAnswer> StatusAsync(TwilioRequest request, Guid? deliveryId)
    {
        if (!await VerifiedAsync(request)) return new TwilioAnswer(false);
        var sid = request.Form.GetValueOrDefault("MessageSid") ?? request.Form.GetValueOrDefault("SmsSid");
        var status = request.Form.GetValueOrDefault("MessageStatus") ?? request.Form.GetValueOrDefault("SmsStatus");
        if (sid is null || status is not ("failed" or "undelivered")) return new TwilioAnswer(true); // queued, sent, delivered: as recorded
        await NotDeliveredAsync(TransportSlug.Sms, sid, deliveryId,
            $"Twilio: {status}{(request.Form.GetValueOrDefault("ErrorCode") is { Length: > 0 } c ? $" (error {c})" : "")}");
        return new TwilioAnswer(true);
    }

    public async Task<TwilioAnswer> CallStatusAsync(TwilioRequest request, Guid? deliveryId)
    {
        if (!await VerifiedAsync(request)) return new TwilioAnswer(false);
        var status = request.Form.GetValueOrDefault("CallStatus");
        if (request.Form.GetValueOrDefault("CallSid") is { } sid && status is "no-answer" or "busy" or "failed" or "canceled")
            await NotDeliveredAsync(TransportSlug.Voice, sid, deliveryId, $"Twilio: call {status}");
        return new TwilioAnswer(true);
    }

    /// <summary>A message or call the provider took but did not get through: failed, and the next channel of the chain is sent.</summary>
    private async Task NotDeliveredAsync(string transport, string externalId, Guid? deliveryId, string error)
    {
        GrainWakes wakes;
        Guid? notification;
        await using (var scope = await store.BeginEngineAsync())
        {
            notification = await DeliveryQueue.CarrierFailedAsync(scope, transport, externalId, deliveryId, error, time.GetUtcNow());
            await scope.CommitAsync();
            wakes = scope.Wakes;
        }
        await wakes.SendAsync(GrainFactory);
        // The next channel of the chain (queued in that transaction) is the notification grain's to send.
        if (notification is { } id) await GrainFactory.GetGrain<INotificationGrain>(id).DeliverDueAsync();
    }

    private sealed record CalledAbout(Guid NotificationId, Guid? IncidentId, Guid AgencyId, Guid NotifiedUserId, string Kind, string? Priority, string? Title,
        byte[]? Address, string? AboutName, string? ConnectionName, string? AlertReason);

    public async Task<TwilioAnswer> CallAsync(TwilioRequest request, Guid deliveryId)
    {
        if (!await VerifiedAsync(request)) return new TwilioAnswer(false);
        var callSid = request.Form.GetValueOrDefault("CallSid") ?? "";
        CalledAbout? call;
        string? address;
        await using (var scope = await store.BeginEngineAsync())
        {
            call = await scope.QuerySingleOrDefaultAsync<CalledAbout>("""
                select d.notification_id, d.incident_id, d.agency_id, n.notified_user_id, n.kind, i.priority, i.title, i.address, a.name as about_name,
                       cc.name as connection_name, n.alert_reason
                from notification_deliveries d join notifications n on n.id = d.notification_id left join incidents i on i.id = d.incident_id
                left join agencies a on a.id = n.about_agency_id left join command_connections cc on cc.id = n.command_connection_id
                where d.id = @deliveryId and d.transport_type_slug = 'voice'
                """, new { deliveryId });
            address = scope.Cipher.DecryptText(call?.Address, EncryptedColumns.IncidentAddress.Context);
        }
        var twiml = new Twilio.TwiML.VoiceResponse();
        if (call is null)
            return new TwilioAnswer(true, twiml.Say("This Dispatch call is no longer valid. Goodbye.").Hangup().ToString());
        if (request.Form.GetValueOrDefault("AnsweredBy") is { } by && (by.StartsWith("machine", StringComparison.Ordinal) || by == "fax"))
        {
            await NotDeliveredAsync(TransportSlug.Voice, callSid, deliveryId, "Twilio: answered by voicemail");
            return new TwilioAnswer(true, twiml.Hangup().ToString());
        }
        if (call.IncidentId is not { } incidentId) // a heartbeat alert: read out, nothing to acknowledge
        {
            var said = call.AlertReason == Escalation.AlertReason.HeartbeatRecovered
                ? $"Dispatch notice. The CAD link {call.ConnectionName} is heard from again."
                : $"Dispatch alert. The CAD link {call.ConnectionName} has gone silent. Incidents and acknowledgements may not be getting through. Check the link.";
            var again = new Twilio.TwiML.Voice.Gather(numDigits: 1, timeout: 5, action: new Uri(request.Url), method: Twilio.Http.HttpMethod.Post);
            again.Say(said).Say("Press 2 to hear this again.");
            return new TwilioAnswer(true, twiml.Append(again).Say("Goodbye.").Hangup().ToString());
        }
        var alert = call.Kind == "psap_alert";
        switch (request.Form.GetValueOrDefault("Digits"))
        {
            case "1":
                if (await InboundAcks.AcknowledgeAsync(GrainFactory, incidentId, call.AgencyId, call.NotifiedUserId, call.NotificationId,
                        AckSource.Voice, logger) is { } ack)
                    return new TwilioAnswer(true, twiml.Say(alert ? "Recorded that you heard this alert. Goodbye." : ack.Repeated
                        ? "This alert was already acknowledged. Goodbye." : "Acknowledged. Thank you. Goodbye.").Hangup().ToString());
                return new TwilioAnswer(true, twiml.Say("This alert can no longer be acknowledged. Goodbye.").Hangup().ToString());
            case null or "" or "2":
                break; // answered, or asked to hear it again
            default:
                twiml.Say("Sorry, that key does nothing.");
                break;
        }
        var spoken = alert
            ? $"Dispatch P SAP alert. {call.AboutName ?? "A company"} has not acknowledged: {call.Title}. Priority {Transports.Email.EmailTransport.PriorityLabel(call.Priority!)}."
            : $"Dispatch alert. Priority {Transports.Email.EmailTransport.PriorityLabel(call.Priority!)}. {call.Title}.";
        if (address is { Length: > 0 }) spoken += $" Address: {address}.";
        var prompt = alert ? "Press 1 to confirm you heard this alert. Press 2 to hear it again." : "Press 1 to acknowledge. Press 2 to hear this again.";
        var gather = new Twilio.TwiML.Voice.Gather(numDigits: 1, timeout: 10, action: new Uri(request.Url), method: Twilio.Http.HttpMethod.Post);
        gather.Say(spoken).Say(prompt);
        twiml.Append(gather).Say("No key was pressed. Goodbye.").Hangup();
        return new TwilioAnswer(true, twiml.ToString());
    }

    private async Task<bool> VerifiedAsync(TwilioRequest request)
    {
        if (string.IsNullOrEmpty(request.Signature) || request.Form.GetValueOrDefault("AccountSid") is not { Length: > 0 } account) return false;
        var form = request.Form.ToDictionary(kv => kv.Key, kv => kv.Value);
        foreach (var token in await TokensAsync(account))
            if (new RequestValidator(token).Validate(request.Url, form, request.Signature)) return true;
        logger.LogWarning("A post to a Twilio hook did not carry a valid signature for the account it names; ignored");
        return false;
    }

    /// <summary>The auth tokens of the account <paramref name="accountSid"/>: the platform's, and every SMS or voice channel's that names it.</summary>
    private async Task<IReadOnlyList<string>> TokensAsync(string accountSid)
    {
        var tokens = new List<string>();
        if (options.Value is { AccountSid: { } platform, AuthToken: { Length: > 0 } token } && platform == accountSid) tokens.Add(token);
        await using var scope = await store.BeginEngineAsync();
        var configs = await scope.QueryAsync<string>("""
            select c.config::text from transport_channels c join transport_types t on t.id = c.transport_type_id
            where t.slug in ('sms', 'voice') and c.is_active
            """);
        foreach (var config in configs)
        {
            var channel = ChannelConfig.Read<ChannelConfig.Sms>(scope.Cipher.DecryptJsonObject(config, EncryptedColumns.ChannelConfig));
            if (channel.AccountSid == accountSid && channel.AuthToken is { Length: > 0 } own) tokens.Add(own);
        }
        return tokens.Distinct().ToList();
    }

    private sealed record SentText(Guid NotificationId, Guid IncidentId, Guid AgencyId, Guid NotifiedUserId, string ChannelConfig, string? Override);

    private sealed record Match(Guid NotificationId, Guid IncidentId, Guid AgencyId, Guid NotifiedUserId);

    /// <summary>The notifications texted to <paramref name="phone"/> lately whose code is <paramref name="code"/>.</summary>
    private async Task<IReadOnlyList<Match>> SentToAsync(string phone, string code)
    {
        await using var scope = await store.BeginEngineAsync();
        var sent = await scope.QueryAsync<SentText>("""
            select d.notification_id, d.incident_id, d.agency_id, n.notified_user_id, c.config::text as channel_config, p.config_override::text as override
            from notification_deliveries d
            join notifications n on n.id = d.notification_id
            join transport_channels c on c.id = d.transport_channel_id
            left join user_transport_preferences p on p.id = d.preference_id
            where d.transport_type_slug = 'sms' and d.send_status = 'sent' and d.sent_at > @since
              and d.incident_id is not null -- a heartbeat alert has nothing to acknowledge
            """, new { since = time.GetUtcNow() - CodeLifetime });
        return sent.Where(s => ReplyCodes.For(s.NotificationId) == code) // the hash first: only the few with this code are decrypted
            .Where(s =>
            {
                var personal = ChannelConfig.Read<ChannelConfig.Sms>(scope.Cipher.DecryptJsonObject(s.Override, EncryptedColumns.PreferenceConfigOverride)).Phone;
                return (personal ?? ChannelConfig.Read<ChannelConfig.Sms>(scope.Cipher.DecryptJsonObject(s.ChannelConfig, EncryptedColumns.ChannelConfig)).Phone) == phone;
            })
            .Select(s => new Match(s.NotificationId, s.IncidentId, s.AgencyId, s.NotifiedUserId)).ToList();
    }
}
