using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Notifications;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Telegram.Bot;
using Telegram.Bot.Types;

namespace Dispatch.Grains.Transports.Telegram;

/// <summary>What Telegram posted to <c>/hooks/telegram</c>, after its secret header was checked: a chat linking itself, or a button pressed.</summary>
public interface ITelegramInboxGrain : IGrainWithIntegerKey
{
    Task UpdateAsync(string updateJson);
}

/// <summary>
/// <c>/start &lt;token&gt;</c> links the chat to the person who asked for the token (their preference for the token's channel
/// gets the chat); the Acknowledge button acknowledges the notification through the incident's grain — only from the chat it
/// was sent to — and the message is edited to say who acknowledged and when.
/// </summary>
[StatelessWorker]
internal sealed class TelegramInboxGrain(DispatchStore store, IHttpClientFactory http, IOptions<TelegramOptions> options, TimeProvider time,
    ILogger<TelegramInboxGrain> logger) : Grain, ITelegramInboxGrain
{
    public async Task UpdateAsync(string updateJson)
    {
        Update? update;
        try
        {
            update = JsonSerializer.Deserialize<Update>(updateJson, JsonBotAPI.Options);
        }
        catch (JsonException)
        {
            logger.LogWarning("A Telegram update that is not one was ignored");
            return;
        }
        if (options.Value.Client(http.CreateClient(TelegramOptions.HttpClientName)) is not { } bot || update is null) return;
        if (update.Message is { Text: { } text, Chat.Id: var chat } && text.StartsWith("/start", StringComparison.Ordinal))
            await bot.SendMessage(chat, await LinkAsync(text["/start".Length..].Trim(), chat));
        else if (update.CallbackQuery is { Data: { } data, Message: { } message } query && data.StartsWith(TelegramTransport.AckPrefix, StringComparison.Ordinal))
            await AcknowledgeAsync(bot, query, message, data[TelegramTransport.AckPrefix.Length..]);
    }

    private sealed record LinkToken(Guid Id, Guid AgencyId, Guid UserId, Guid TransportChannelId, string Name);

    private async Task<string> LinkAsync(string token, long chat)
    {
        if (token.Length == 0) return "Dispatch: open the link Dispatch gives you (POST users/{id}/telegram-link) to connect this chat.";
        LinkToken? link;
        await using (var scope = await store.BeginEngineAsync())
        {
            var now = time.GetUtcNow();
            link = await scope.QuerySingleOrDefaultAsync<LinkToken>($"""
                update telegram_link_tokens t set used_at = @now
                from users u
                where t.token_hash = @hash and t.used_at is null and t.expires_at > @now and u.id = t.user_id
                returning t.id, t.agency_id, t.user_id, t.transport_channel_id, {Identity.Users.DisplayNameOfU} as name
                """, new { hash = TelegramLinks.Hash(token), now });
            await scope.CommitAsync();
        }
        if (link is null) return "Dispatch: this link has expired or was already used. Ask Dispatch for a new one.";
        try
        {
            // The person's preferences are their agency's configuration: written by its grain, which keeps routing's copy current.
            var self = new AgencyContext(link.AgencyId, link.UserId);
            IReadOnlyList<TransportPreference> current;
            await using (var scope = await store.BeginAsync(self)) current = await TransportConfiguration.PreferencesAsync(scope, link.UserId);
            var chatOverride = new System.Text.Json.Nodes.JsonObject { ["chatId"] = chat.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            var items = current.Select(p => new Agencies.PreferenceChange(p.TransportChannelId, p.PriorityOrder, p.DeliveryMode,
                p.TransportChannelId == link.TransportChannelId ? chatOverride : p.ConfigOverride)).ToList();
            if (current.All(p => p.TransportChannelId != link.TransportChannelId))
                items.Add(new Agencies.PreferenceChange(link.TransportChannelId, current.Select(p => p.PriorityOrder).DefaultIfEmpty(0).Max() + 1,
                    current.FirstOrDefault()?.DeliveryMode ?? Routing.Router.AllAtOnce, chatOverride));
            var saved = await GrainFactory.GetGrain<Agencies.IAgencyGrain>(link.AgencyId).ReplacePreferencesAsync(self, link.UserId, items);
            if (saved.Outcome != CommandOutcome.Done) throw new InvalidOperationException($"preferences not saved: {saved.Outcome}");
        }
        catch (Exception e)
        {
            await using var scope = await store.BeginEngineAsync(); // not linked: the token may be used again
            await scope.ExecuteAsync("update telegram_link_tokens set used_at = null where id = @Id", new { link.Id });
            await scope.CommitAsync();
            logger.LogWarning(e, "Linking a Telegram chat for user {UserId} failed", link.UserId);
            return "Dispatch: the chat could not be linked just now. Open the link again in a minute.";
        }
        logger.LogInformation("User {UserId} linked a Telegram chat to channel {ChannelId}", link.UserId, link.TransportChannelId);
        return $"Dispatch: linked. Alerts for {link.Name} will come to this chat, with a button to acknowledge them.";
    }

    private sealed record SentHere(Guid NotificationId, Guid IncidentId, Guid AgencyId, Guid NotifiedUserId, string Name, string? ExternalMessageId,
        string ChannelConfig, string? Override);

    // The chat a delivery is addressed to, as the transport picks it: the person's own, else the channel's.
    private static string? ChatOf(FieldCipher cipher, SentHere sent) =>
        ChannelConfig.Read<ChannelConfig.Telegram>(cipher.DecryptJsonObject(sent.Override, EncryptedColumns.PreferenceConfigOverride)).ChatId
        ?? ChannelConfig.Read<ChannelConfig.Telegram>(cipher.DecryptJsonObject(sent.ChannelConfig, EncryptedColumns.ChannelConfig)).ChatId;

    private async Task AcknowledgeAsync(ITelegramBotClient bot, CallbackQuery query, Message message, string notification)
    {
        SentHere? sent = null;
        if (Guid.TryParseExact(notification, "N", out var notificationId))
        {
            await using var scope = await store.BeginEngineAsync();
            // Only the chat the message went to: the button's data alone proves nothing. The message as recorded sent there; or, when
            // the press comes before the send's outcome is recorded (Telegram answered, the row not yet written), a send still in
            // flight to this very chat — the recipient's own chat, or the channel's.
            var external = $"{message.Chat.Id}:{message.MessageId}";
            var candidates = await scope.QueryAsync<SentHere>($"""
                select d.notification_id, d.incident_id, d.agency_id, n.notified_user_id, {Identity.Users.DisplayNameOfU} as name,
                       d.external_message_id, c.config::text as channel_config, p.config_override::text as override
                from notification_deliveries d join notifications n on n.id = d.notification_id join users u on u.id = n.notified_user_id
                join transport_channels c on c.id = d.transport_channel_id left join user_transport_preferences p on p.id = d.preference_id
                where d.notification_id = @notificationId and d.transport_type_slug = 'telegram' and d.incident_id is not null
                  and (d.external_message_id = @external or (d.send_status = 'sending' and d.external_message_id is null))
                """, new { notificationId, external });
            sent = candidates.FirstOrDefault(c => c.ExternalMessageId == external)
                ?? candidates.FirstOrDefault(c => ChatOf(scope.Cipher, c) == message.Chat.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        if (sent is null)
        {
            await bot.AnswerCallbackQuery(query.Id, "This button is not valid here.");
            return;
        }
        if (await InboundAcks.AcknowledgeAsync(GrainFactory, sent.IncidentId, sent.AgencyId, sent.NotifiedUserId, sent.NotificationId,
                AckSource.Telegram, logger) is not { } ack)
        {
            await bot.AnswerCallbackQuery(query.Id, "This alert can no longer be acknowledged.");
            return;
        }
        var said = ack.Kind == "psap_alert" ? $"Seen by {sent.Name} at {ack.AckedAt:HH:mm} UTC" : $"Acknowledged by {sent.Name} at {ack.AckedAt:HH:mm} UTC";
        await bot.AnswerCallbackQuery(query.Id, ack.Repeated ? "Already acknowledged." : "Acknowledged. Thank you.");
        await bot.EditMessageText(message.Chat.Id, message.MessageId, $"{message.Text}\n\n✅ {said}"); // the button goes: done once
    }
}
