using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dispatch.Testing;
using Dispatch.Tests.Infrastructure;

namespace Dispatch.Tests.Deliveries;

/// <summary>
/// Telegram end to end: a person links their chat with a one-time deep link, a Silo process sends alerts through Telegram.Bot
/// to a local Bot API that speaks Telegram's wire format, and the Acknowledge button, pressed in that chat, acknowledges once
/// and edits the message to say who and when.
/// </summary>
[Trait("Tier", "Full")] // real processes: a Silo, the Api or the AppHost
public sealed class TelegramDeliveryTests : DeliveryWorld
{
    private const long RitaChat = 4242, OtherChat = 6666;
    private FakeTelegram _telegram = null!;

    protected override IReadOnlyDictionary<string, string?> HostExtras => new Dictionary<string, string?>
    {
        ["Dispatch:Telegram:BotUsername"] = FakeTelegram.BotUsername, ["Dispatch:Telegram:WebhookSecret"] = FakeTelegram.WebhookSecret,
    };

    protected override async Task StartProvidersAsync()
    {
        _telegram = await FakeTelegram.StartAsync();
        Provide(_telegram, _telegram.HostSettings());
    }

    private Uri Hook => new(Anonymous.BaseAddress!, "/hooks/telegram");

    [Fact]
    public async Task A_linked_chat_gets_the_alert_and_its_button_acknowledges_once_only_from_that_chat()
    {
        var (gasco, _, _) = await OnboardCompanyAsync("gasco");
        var telegram = await ChannelAsync(gasco, "telegram", "gasco telegram", "{}");
        var rita = await ResponderAsync(gasco, "rita@gasco.example");
        using var ritaClient = As("Bearer " + (await LoginAsync("rita@gasco.example", "responding to calls")).AccessToken);

        // Rita asks for her link; nobody else may ask for one in her name.
        using (var admin = As("Bearer " + (await LoginAsync("admin@gasco.example", "a long company password")).AccessToken))
            Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(admin, HttpMethod.Post, $"/api/v1/users/{rita}/telegram-link", new { transportChannelId = telegram })).Status);
        var link = await SendAsync(ritaClient, HttpMethod.Post, $"/api/v1/users/{rita}/telegram-link", new { transportChannelId = telegram });
        Assert.Equal(HttpStatusCode.Created, link.Status);
        var url = new Uri(link.Body!["url"]!.GetValue<string>());
        Assert.Equal($"https://t.me/{FakeTelegram.BotUsername}", url.GetLeftPart(UriPartial.Path));
        var token = url.Query["?start=".Length..];

        using (var forged = await _telegram.StartCommandAsync(Hook, OtherChat, token, secret: "not the secret"))
            Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        using (var huge = await _telegram.PostUpdateAsync(Hook, new JsonObject { ["padding"] = new string('x', 2 << 20) }))
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        using (await _telegram.StartCommandAsync(Hook, RitaChat, token)) { }
        Assert.Contains("linked", _telegram.Messages.Single(m => m.ChatId == RitaChat).Text);
        using (await _telegram.StartCommandAsync(Hook, OtherChat, token)) { } // spent: the second chat is not linked
        Assert.Contains("already used", _telegram.Messages.Single(m => m.ChatId == OtherChat).Text);
        var preferences = await SendAsync(ritaClient, HttpMethod.Get, $"/api/v1/users/{rita}/transport-preferences");
        Assert.Equal(telegram, preferences.Body!.AsArray().Single()!["transportChannelId"]!.GetValue<Guid>());
        Assert.Equal(RitaChat.ToString(), preferences.Body.AsArray().Single()!["configOverride"]!["chatId"]!.GetValue<string>());

        // Telegram is slow to answer: the alert is in Rita's chat, Dispatch has not recorded the send yet, and she presses at once.
        _telegram.HoldAnswers = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var id = await RaiseAsync("critical", gasco);
        await Wait.UntilAsync(() => Task.FromResult(_telegram.Messages.Count(m => m.ChatId == RitaChat) == 2), TimeSpan.FromSeconds(60), () => Silo!.Output);
        var alert = _telegram.Messages.Where(m => m.ChatId == RitaChat).Last();
        Assert.StartsWith("[CRITICAL] Gas smell at school\n12 Elm Street\nStrong odour reported by staff", alert.Text);
        Assert.Equal("Acknowledge", alert.ReplyMarkup!["inline_keyboard"]![0]![0]!["text"]!.GetValue<string>());

        // The same button pressed in another chat does nothing; in Rita's chat it acknowledges, once.
        using (await _telegram.PressAsync(Hook, alert, OtherChat)) { }
        Assert.Equal("This button is not valid here.", _telegram.Answers.Last().Text);
        Assert.Equal("pending", (await IncidentAsync(id))["companies"]![0]!["notifications"]![0]!["ackStatus"]!.GetValue<string>());
        using (await _telegram.PressAsync(Hook, alert, RitaChat)) { }
        Assert.Equal("Acknowledged. Thank you.", _telegram.Answers.Last().Text);
        _telegram.HoldAnswers.SetResult();
        _telegram.HoldAnswers = null;
        var edit = Assert.Single(_telegram.Edits);
        Assert.Equal((RitaChat, alert.MessageId), (edit.ChatId, edit.MessageId));
        Assert.Matches(@"✅ Acknowledged by Resp Onder at \d\d:\d\d UTC$", edit.Text);
        using (await _telegram.PressAsync(Hook, alert, RitaChat)) { }
        Assert.Equal("Already acknowledged.", _telegram.Answers.Last().Text);

        var notification = (await IncidentAsync(id))["companies"]![0]!["notifications"]![0]!;
        Assert.Equal(("acked", "telegram"), (notification["ackStatus"]!.GetValue<string>(), notification["ackSource"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_chat_that_blocked_the_bot_fails_over_to_the_next_channel()
    {
        var (gasco, _, _) = await OnboardCompanyAsync("gasco");
        var telegram = await ChannelAsync(gasco, "telegram", "gasco telegram", "{}");
        var email = await ChannelAsync(gasco, "email", "ops email", "{}");
        var olu = await ResponderAsync(gasco, "olu@gasco.example");
        _telegram.Blocked[777] = true;
        await PreferenceAsync(olu, telegram, 1, "failover", """{"chatId":"777"}""");
        await PreferenceAsync(olu, email, 2, "failover");

        var id = await RaiseAsync("critical", gasco);
        await Wait.UntilAsync(() => Task.FromResult(Smtp.Messages().Any(m => m.ToAddress == "olu@gasco.example")), TimeSpan.FromSeconds(60), () => Silo!.Output);

        var deliveries = await SettledDeliveriesAsync(id, olu);
        Assert.Equal(["failed", "sent"], deliveries.Select(d => d!["sendStatus"]!.GetValue<string>()));
        Assert.Contains("403", deliveries[0]!["lastError"]!.GetValue<string>());
    }
}
