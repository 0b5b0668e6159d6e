using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Dispatch.Testing;

/// <summary>
/// The Telegram Bot API as far as Dispatch uses it, on a loopback port: <c>/bot&lt;token&gt;/sendMessage</c>,
/// <c>editMessageText</c> and <c>answerCallbackQuery</c> (JSON in, <c>{"ok":true,"result":…}</c> or
/// <c>{"ok":false,"error_code":…,"description":…}</c> out), and, like Telegram, posting updates — a chat's <c>/start</c>, a
/// button pressed — to a webhook with the secret token header.
/// </summary>
public sealed class FakeTelegram : IAsyncDisposable
{
    public const string BotToken = "123456:fake-telegram-bot-token";
    public const string BotUsername = "dispatch_test_bot";
    public const string WebhookSecret = "fake-telegram-webhook-secret";

    private readonly WebApplication _app;
    private readonly HttpClient _poster = new();
    private int _messageId;
    private int _updateId;

    /// <param name="At">When it arrived (<see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>), for the bench's latencies.</param>
    public sealed record Sent(long ChatId, int MessageId, string Text, JsonNode? ReplyMarkup, long At);

    public ConcurrentQueue<Sent> Messages { get; } = new();
    public ConcurrentQueue<(long ChatId, int MessageId, string Text)> Edits { get; } = new();
    public ConcurrentQueue<(string Id, string? Text)> Answers { get; } = new();

    /// <summary>Chats that blocked the bot: 403 for a message to them.</summary>
    public ConcurrentDictionary<long, bool> Blocked { get; } = new();

    public Uri Url { get; }

    /// <summary>
    /// While set, a sent message reaches its chat at once (in <see cref="Messages"/>) but the sender's answer waits for this to
    /// complete: the person can press a button before Dispatch has recorded the send, as can happen with a slow answer.
    /// </summary>
    public TaskCompletionSource? HoldAnswers { get; set; }

    private FakeTelegram(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public static async Task<FakeTelegram> StartAsync()
    {
        var app = LoopbackApp.Create();
        FakeTelegram? fake = null;
        // /bot<token>/<method>: the token holds a colon, so the path is taken apart here rather than by a route template.
        app.MapPost("/{**path}", (string path, HttpContext http) => path.StartsWith("bot", StringComparison.Ordinal) && path.LastIndexOf('/') is var slash and > 3
            ? fake!.HandleAsync(path[3..slash], path[(slash + 1)..], http)
            : Task.FromResult(Failure(404, "Not Found")));
        fake = new FakeTelegram(app, await LoopbackApp.StartAsync(app));
        return fake;
    }

    /// <summary>Settings that make a host use this Bot API as the platform's bot.</summary>
    public Dictionary<string, string?> HostSettings() => new()
    {
        ["Dispatch:Telegram:ApiBaseUrl"] = Url.ToString().TrimEnd('/'),
        ["Dispatch:Telegram:BotToken"] = BotToken,
        ["Dispatch:Telegram:BotUsername"] = BotUsername,
        ["Dispatch:Telegram:WebhookSecret"] = WebhookSecret,
    };

    private async Task<IResult> HandleAsync(string token, string method, HttpContext http)
    {
        if (token != BotToken) return Failure(401, "Unauthorized");
        var body = (await JsonNode.ParseAsync(http.Request.Body))!.AsObject();
        switch (method)
        {
            case "sendMessage":
                var chat = body["chat_id"]!.GetValue<long>();
                if (Blocked.ContainsKey(chat)) return Failure(403, "Forbidden: bot was blocked by the user");
                var sent = new Sent(chat, Interlocked.Increment(ref _messageId), body["text"]!.GetValue<string>(), body["reply_markup"]?.DeepClone(),
                    System.Diagnostics.Stopwatch.GetTimestamp());
                Messages.Enqueue(sent);
                if (HoldAnswers is { } hold) await hold.Task;
                return Ok(Message(sent.ChatId, sent.MessageId, sent.Text));
            case "editMessageText":
                var edit = (body["chat_id"]!.GetValue<long>(), body["message_id"]!.GetValue<int>(), body["text"]!.GetValue<string>());
                Edits.Enqueue(edit);
                return Ok(Message(edit.Item1, edit.Item2, edit.Item3));
            case "answerCallbackQuery":
                Answers.Enqueue((body["callback_query_id"]!.GetValue<string>(), body["text"]?.GetValue<string>()));
                return Ok(true);
            default:
                return Failure(404, "Not Found: method not found");
        }
    }

    private static JsonObject Message(long chat, int id, string text) => new()
    {
        ["message_id"] = id, ["date"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(), ["text"] = text,
        ["chat"] = new JsonObject { ["id"] = chat, ["type"] = "private", ["first_name"] = "Rita" },
        ["from"] = new JsonObject { ["id"] = 123456, ["is_bot"] = true, ["first_name"] = "Dispatch", ["username"] = BotUsername },
    };

    private static IResult Ok(object result) => Results.Json(new { ok = true, result });

    private static IResult Failure(int code, string description) => Results.Json(new { ok = false, error_code = code, description }, statusCode: code);

    /// <summary>A person in chat <paramref name="chat"/> opens the bot through a deep link: <c>/start &lt;token&gt;</c>.</summary>
    public Task<HttpResponseMessage> StartCommandAsync(Uri hook, long chat, string token, string? secret = null) => PostUpdateAsync(hook, new JsonObject
    {
        ["message"] = new JsonObject
        {
            ["message_id"] = 9000 + Interlocked.Increment(ref _updateId), ["date"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(), ["text"] = $"/start {token}",
            ["chat"] = new JsonObject { ["id"] = chat, ["type"] = "private" },
            ["from"] = new JsonObject { ["id"] = chat, ["is_bot"] = false, ["first_name"] = "Rita" },
            ["entities"] = new JsonArray(new JsonObject { ["type"] = "bot_command", ["offset"] = 0, ["length"] = 6 }),
        },
    }, secret);

    /// <summary>A button pressed under <paramref name="message"/>, as seen from chat <paramref name="chat"/>.</summary>
    public Task<HttpResponseMessage> PressAsync(Uri hook, Sent message, long chat, string? data = null) => PostUpdateAsync(hook, new JsonObject
    {
        ["callback_query"] = new JsonObject
        {
            ["id"] = $"cq{Interlocked.Increment(ref _updateId)}", ["chat_instance"] = "42",
            ["data"] = data ?? message.ReplyMarkup!["inline_keyboard"]![0]![0]!["callback_data"]!.GetValue<string>(),
            ["from"] = new JsonObject { ["id"] = chat, ["is_bot"] = false, ["first_name"] = "Rita" },
            ["message"] = Message(chat, message.MessageId, message.Text),
        },
    });

    public async Task<HttpResponseMessage> PostUpdateAsync(Uri hook, JsonObject update, string? secret = null)
    {
        update["update_id"] = Interlocked.Increment(ref _updateId);
        using var request = new HttpRequestMessage(HttpMethod.Post, hook) { Content = JsonContent.Create(update) };
        request.Headers.Add("X-Telegram-Bot-Api-Secret-Token", secret ?? WebhookSecret);
        return await _poster.SendAsync(request);
    }

    public async ValueTask DisposeAsync()
    {
        _poster.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
