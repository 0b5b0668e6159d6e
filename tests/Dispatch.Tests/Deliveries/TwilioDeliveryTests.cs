using System.Net;
using Dapper;
using Dispatch.Grains.Transports.Sms;
using Dispatch.Testing;
using Dispatch.Tests.Infrastructure;
using Npgsql;

namespace Dispatch.Tests.Deliveries;

/// <summary>
/// Texts and calls through Twilio end to end: a Silo process sends through the Twilio SDK to a local Twilio that speaks its
/// wire format, Twilio's signed posts come back to the Api, a reply with the message's code or a key pressed on the call
/// acknowledges once, and what Twilio refuses or cannot deliver (no answer, a voicemail) fails over to the next channel.
/// </summary>
[Trait("Tier", "Full")] // real processes: a Silo, the Api or the AppHost
public sealed class TwilioDeliveryTests : DeliveryWorld
{
    private const string RitaPhone = "+15552223333";
    private FakeTwilio _twilio = null!;

    protected override async Task StartProvidersAsync()
    {
        _twilio = await FakeTwilio.StartAsync();
        Provide(_twilio, _twilio.HostSettings());
    }

    private Uri Hook => new(Anonymous.BaseAddress!, "/hooks/sms/twilio");

    private static async Task<string> TwimlAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/xml", response.Content.Headers.ContentType?.MediaType);
        return System.Xml.Linq.XElement.Parse(await response.Content.ReadAsStringAsync()).Element("Message")!.Value;
    }

    [Fact]
    public async Task A_text_reaches_the_responder_and_their_reply_with_its_code_acknowledges_once_while_forged_or_wrong_replies_do_nothing()
    {
        var (gasco, _, _) = await OnboardCompanyAsync("gasco");
        var texts = await ChannelAsync(gasco, "sms", "on-call texts", "{}"); // the platform's Twilio account and number
        var rita = await ResponderAsync(gasco, "rita@gasco.example");
        await PreferenceAsync(rita, texts, 1, "all", $$"""{"phone":"{{RitaPhone}}"}""");

        var id = await RaiseAsync("critical", gasco);
        await Wait.UntilAsync(() => Task.FromResult(_twilio.Messages.Any(m => m.To == RitaPhone)), TimeSpan.FromSeconds(60), () => Silo!.Output);
        var text = _twilio.Messages.Single(m => m.To == RitaPhone);
        var notification = await RecipientNotificationAsync(id, rita);
        var code = ReplyCodes.For(notification["id"]!.GetValue<Guid>());
        Assert.Equal(FakeTwilio.Number, text.From);
        Assert.StartsWith("[CRITICAL] Gas smell at school\n12 Elm Street\nStrong odour reported by staff", text.Body);
        Assert.EndsWith($"Reply {code} to acknowledge.", text.Body);
        var delivery = notification["deliveries"]![0]!["id"]!.GetValue<Guid>(); // named in the report's URL: reports may come first
        Assert.Equal(new Uri(Anonymous.BaseAddress!, $"{SmsTransport.StatusPath}?d={delivery}").ToString(), text.StatusCallback);
        await Wait.UntilAsync(async () => (await RecipientNotificationAsync(id, rita))["deliveries"]![0]!["externalMessageId"]?.GetValue<string>() == text.Sid,
            TimeSpan.FromSeconds(30), () => Silo!.Output);

        // Not Twilio: signed with another token. Not the responder: the right code from another number. Not a code sent there.
        using (var forged = await _twilio.SendInboundAsync(Hook, RitaPhone, $"ACK {code}", signWith: "not the auth token"))
            Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        Assert.Contains("no recent alert", await TwimlAsync(await _twilio.SendInboundAsync(Hook, "+15559998888", $"ACK {code}")));
        var wrong = code == "1000" ? "1001" : "1000";
        Assert.Contains($"code {wrong}", await TwimlAsync(await _twilio.SendInboundAsync(Hook, RitaPhone, $"ack {wrong}")));
        Assert.Contains("4-digit code", await TwimlAsync(await _twilio.SendInboundAsync(Hook, RitaPhone, "on my way")));
        Assert.Equal("pending", (await RecipientNotificationAsync(id, rita))["ackStatus"]!.GetValue<string>());

        Assert.Equal("Dispatch: acknowledged. Thank you.", await TwimlAsync(await _twilio.SendInboundAsync(Hook, RitaPhone, $"{code} ack")));
        Assert.Contains("already acknowledged", await TwimlAsync(await _twilio.SendInboundAsync(Hook, RitaPhone, code)));

        var acked = await RecipientNotificationAsync(id, rita);
        Assert.Equal("acked", acked["ackStatus"]!.GetValue<string>());
        Assert.Equal("sms_reply", acked["ackSource"]!.GetValue<string>());
        var incident = await IncidentAsync(id);
        Assert.Equal("acknowledged", incident["incident"]!["status"]!.GetValue<string>());
        await using var c = new NpgsqlConnection(ConnectionString);
        Assert.Equal(1, await c.ExecuteScalarAsync<int>(
            "select count(*) from command_ack_events where incident_id = @id and company_agency_id = @gasco and ack_source = 'sms_reply'", new { id, gasco }));
    }

    [Fact]
    public async Task A_number_twilio_refuses_or_cannot_deliver_to_hands_over_to_the_next_channel()
    {
        var (gasco, _, _) = await OnboardCompanyAsync("gasco");
        var texts = await ChannelAsync(gasco, "sms", "on-call texts", "{}");
        var email = await ChannelAsync(gasco, "email", "ops email", "{}");
        var olu = await ResponderAsync(gasco, "olu@gasco.example");
        var fay = await ResponderAsync(gasco, "fay@gasco.example");
        _twilio.OptedOut["+15553334444"] = true; // refused at once: 400, 21610
        _twilio.Unreachable["+15554445555"] = true; // accepted, then reported undelivered (30003)…
        _twilio.ReportsFirst["+15554445555"] = true; // …the report arriving before Twilio's answer to the send, so before its outcome is recorded
        await PreferenceAsync(olu, texts, 1, "failover", """{"phone":"+15553334444"}""");
        await PreferenceAsync(olu, email, 2, "failover");
        await PreferenceAsync(fay, texts, 1, "failover", """{"phone":"+15554445555"}""");
        await PreferenceAsync(fay, email, 2, "failover");
        _twilio.ServiceUnavailable = 1; // and Twilio overloaded once: that attempt is retried, not failed over

        var id = await RaiseAsync("critical", gasco);
        await Wait.UntilAsync(() => Task.FromResult(Smtp.Messages().Count(m => m.ToAddress is "olu@gasco.example" or "fay@gasco.example") == 2),
            TimeSpan.FromSeconds(60), () => Silo!.Output);

        var oluDeliveries = await SettledDeliveriesAsync(id, olu);
        Assert.Equal(["failed", "sent"], oluDeliveries.Select(d => d!["sendStatus"]!.GetValue<string>()));
        Assert.Contains("21610", oluDeliveries[0]!["lastError"]!.GetValue<string>());
        var fayDeliveries = await SettledDeliveriesAsync(id, fay);
        Assert.Equal(["failed", "sent"], fayDeliveries.Select(d => d!["sendStatus"]!.GetValue<string>()));
        Assert.Equal("Twilio: undelivered (error 30003)", fayDeliveries[0]!["lastError"]!.GetValue<string>());
        Assert.Single(_twilio.Messages, m => m.To == "+15554445555"); // a report repeated or late changes nothing more
    }

    [Fact]
    public async Task A_call_reads_the_incident_repeats_it_on_2_acknowledges_on_1_and_no_answer_or_a_voicemail_fails_over()
    {
        var (gasco, _, _) = await OnboardCompanyAsync("gasco");
        var calls = await ChannelAsync(gasco, "voice", "on-call calls", "{}");
        var email = await ChannelAsync(gasco, "email", "ops email", "{}");
        var rita = await ResponderAsync(gasco, "rita@gasco.example");
        var olu = await ResponderAsync(gasco, "olu@gasco.example");
        var fay = await ResponderAsync(gasco, "fay@gasco.example");
        _twilio.Answering[RitaPhone] = "21"; // hears it, asks to hear it again, acknowledges
        _twilio.Answering["+15553334444"] = "no-answer";
        _twilio.Answering["+15554445555"] = "voicemail";
        await PreferenceAsync(rita, calls, 1, "all", $$"""{"phone":"{{RitaPhone}}"}""");
        await PreferenceAsync(olu, calls, 1, "failover", """{"phone":"+15553334444"}""");
        await PreferenceAsync(olu, email, 2, "failover");
        await PreferenceAsync(fay, calls, 1, "failover", """{"phone":"+15554445555"}""");
        await PreferenceAsync(fay, email, 2, "failover");

        var id = await RaiseAsync("critical", gasco);
        await Wait.UntilAsync(() => Task.FromResult(_twilio.Calls.Count(c => c.Ended is not null) == 3), TimeSpan.FromSeconds(60), () => Silo!.Output);
        await Wait.UntilAsync(() => Task.FromResult(Smtp.Messages().Count(m => m.ToAddress is "olu@gasco.example" or "fay@gasco.example") == 2),
            TimeSpan.FromSeconds(60), () => Silo!.Output);

        var ritaCall = _twilio.Calls.Single(c => c.To == RitaPhone);
        Assert.Equal(FakeTwilio.Number, ritaCall.From);
        var played = ritaCall.Played.ToList();
        Assert.Equal(3, played.Count);
        var said = System.Xml.Linq.XElement.Parse(played[0]).Descendants("Say").Select(e => e.Value).ToList();
        Assert.Contains("Dispatch alert. Priority CRITICAL. Gas smell at school. Address: 12 Elm Street.", said);
        Assert.Contains("Press 1 to acknowledge. Press 2 to hear this again.", said);
        Assert.Equal("1", System.Xml.Linq.XElement.Parse(played[0]).Descendants("Gather").Single().Attribute("numDigits")?.Value);
        Assert.Contains("Gas smell at school", played[1]); // 2: read again
        Assert.Contains("Acknowledged. Thank you.", played[2]);
        var acked = await RecipientNotificationAsync(id, rita);
        Assert.Equal("acked", acked["ackStatus"]!.GetValue<string>());
        Assert.Equal("voice", acked["ackSource"]!.GetValue<string>());

        Assert.Equal("Twilio: call no-answer", (await SettledDeliveriesAsync(id, olu))[0]!["lastError"]!.GetValue<string>());
        Assert.Equal("Twilio: answered by voicemail", (await SettledDeliveriesAsync(id, fay))[0]!["lastError"]!.GetValue<string>());
        Assert.DoesNotContain("Gas smell", _twilio.Calls.Single(c => c.To == "+15554445555").Played.Single()); // hung up on the machine

        // Only Twilio may ask what to say: a forged request learns nothing about the incident.
        using var forged = await _twilio.PostSignedAsync(ritaCall.Url, new Dictionary<string, string>
        {
            ["AccountSid"] = FakeTwilio.AccountSid, ["CallSid"] = ritaCall.Sid, ["CallStatus"] = "in-progress", ["Digits"] = "1",
        }, signWith: "not the auth token");
        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        Assert.DoesNotContain("Gas smell", await forged.Content.ReadAsStringAsync());
    }
}
