using Dispatch.Grains.Transports.Email;
using Microsoft.Extensions.Options;
using Telegram.Bot;
using Telegram.Bot.Exceptions;
using Telegram.Bot.Types.ReplyMarkups;

namespace Dispatch.Grains.Transports.Telegram;

/// <summary>
/// <c>Dispatch:Telegram</c>: the platform's bot. Its token sends; the webhook secret is what Telegram puts in
/// <c>X-Telegram-Bot-Api-Secret-Token</c> on every update it posts to <c>/hooks/telegram</c> (set with the Bot API's
/// setWebhook); the username makes the link a person opens to connect their chat.
/// </summary>
public sealed class TelegramOptions
{
    public const string Section = "Dispatch:Telegram";
    public const string HttpClientName = "telegram";

    public string? BotToken { get; set; }
    public string? BotUsername { get; set; }
    public string? WebhookSecret { get; set; }

    /// <summary>Where the Bot API is (its real address unless a test says otherwise).</summary>
    public string ApiBaseUrl { get; set; } = "https://api.telegram.org";

    public ITelegramBotClient? Client(HttpClient http) =>
        BotToken is { Length: > 0 } token ? new TelegramBotClient(new TelegramBotClientOptions(token, ApiBaseUrl.TrimEnd('/')), http) : null;
}

/// <summary>
/// A Telegram message from the platform's bot to the person's linked chat (or the channel's group), with an Acknowledge
/// button; pressing it comes back to <c>/hooks/telegram</c> as a callback query.
/// </summary>
public sealed class TelegramTransport(IHttpClientFactory http, IOptions<TelegramOptions> options) : ITransport
{
    public const string AckPrefix = "ack:";

    public string Slug => TransportSlug.Telegram;

    public async Task<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        var chat = ChannelConfig.Read<ChannelConfig.Telegram>(message.RecipientOverride).ChatId ?? ChannelConfig.Read<ChannelConfig.Telegram>(message.ChannelConfig).ChatId;
        if (chat is null || !long.TryParse(chat, out var chatId))
            return SendResult.Permanent($"{message.RecipientName} has not linked a Telegram chat (POST users/{{id}}/telegram-link).");
        if (options.Value.Client(http.CreateClient(TelegramOptions.HttpClientName)) is not { } bot)
            return SendResult.Permanent("No Telegram bot configured for the platform (Dispatch:Telegram:BotToken).");
        // A heartbeat alert is news about a CAD link, with nothing to acknowledge: no button.
        var button = message.Heartbeat is not null ? null : new InlineKeyboardMarkup(InlineKeyboardButton.WithCallbackData(
            message.Alert is null ? "Acknowledge" : "I have seen this alert", AckPrefix + message.NotificationId.ToString("N")));
        try
        {
            var sent = await bot.SendMessage(chatId, Text(message), replyMarkup: button, cancellationToken: cancellationToken);
            return SendResult.Sent($"{chatId}:{sent.MessageId}");
        }
        catch (ApiRequestException e) when (e.ErrorCode is 429 or >= 500)
        {
            return SendResult.Transient($"Telegram {e.ErrorCode}: {e.Message}");
        }
        catch (ApiRequestException e) // a chat that blocked the bot or no longer exists
        {
            return SendResult.Permanent($"Telegram {e.ErrorCode}: {e.Message}");
        }
        catch (Exception e) when (e is RequestException or HttpRequestException or TaskCanceledException)
        {
            return SendResult.Transient($"Telegram unreachable: {e.GetBaseException().Message}");
        }
    }

    public static string Text(OutboundMessage m)
    {
        if (m.Heartbeat is not null) return $"{m.Title}\n{m.Description}";
        var address = m.Address is { Length: > 0 } a ? $"\n{a}" : "";
        if (m.Alert is { } alert)
            return $"PSAP ALERT ({EmailTransport.PriorityLabel(m.Priority)}): {alert.Headline(m.Title)}, after {alert.TiersTried}.{address}\n\n" +
                   $"Reach {alert.CompanyName}'s people directly:\n" + string.Join('\n', EmailTransport.ContactLines(alert));
        return $"[{EmailTransport.PriorityLabel(m.Priority)}] {m.Title}{address}\n{m.Description}";
    }
}

/// <summary>The one-time tokens that link a chat: only their SHA-256 is stored.</summary>
public static class TelegramLinks
{
    public static byte[] Hash(string token) => System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token));
}
