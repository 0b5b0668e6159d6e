using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Dispatch.Testing;

/// <summary>
/// Twilio's REST API as far as Dispatch uses it, on a loopback port: <c>POST /2010-04-01/Accounts/{sid}/Messages.json</c>
/// (HTTP Basic with the account SID and auth token, form-encoded, answered with Twilio's JSON and its error bodies), and, like
/// Twilio, posting signed delivery reports to a message's <c>StatusCallback</c> and signed incoming texts to a hook. The
/// signature is computed here from Twilio's published algorithm (HMAC-SHA1 of the URL and the sorted form fields, with the
/// auth token), independently of the SDK's validator that Dispatch checks it with.
/// </summary>
public sealed class FakeTwilio : IAsyncDisposable
{
    public const string AccountSid = "AC0123456789abcdef0123456789abcdef";
    public const string AuthToken = "fake twilio auth token 0123456789";
    public const string Number = "+15550001111";

    private readonly WebApplication _app;
    private readonly HttpClient _poster = new();
    private int _sequence;

    /// <param name="At">When it arrived (<see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>), for the bench's latencies.</param>
    public sealed record Sent(string Sid, string To, string From, string Body, string? StatusCallback, long At);

    public ConcurrentQueue<Sent> Messages { get; } = new();

    /// <summary>Numbers Twilio refuses outright (21610: the recipient has opted out).</summary>
    public ConcurrentDictionary<string, bool> OptedOut { get; } = new();

    /// <summary>Numbers Twilio accepts texts for, then reports undelivered (30003: unreachable handset).</summary>
    public ConcurrentDictionary<string, bool> Unreachable { get; } = new();

    /// <summary>
    /// Numbers whose delivery reports are posted before Twilio answers the request that sent the text (they can arrive in any
    /// order: Twilio reports from elsewhere, as soon as it knows), so the sender has not yet recorded the message's id.
    /// </summary>
    public ConcurrentDictionary<string, bool> ReportsFirst { get; } = new();

    /// <summary>How many more requests are answered 503, as Twilio does when overloaded.</summary>
    public int ServiceUnavailable;

    public Uri Url { get; }

    private FakeTwilio(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public static async Task<FakeTwilio> StartAsync()
    {
        var app = LoopbackApp.Create();
        FakeTwilio? fake = null;
        app.MapPost("/2010-04-01/Accounts/{sid}/Messages.json", (string sid, HttpContext http) => fake!.CreateMessageAsync(sid, http));
        app.MapPost("/2010-04-01/Accounts/{sid}/Calls.json", (string sid, HttpContext http) => fake!.CreateCallAsync(sid, http));
        fake = new FakeTwilio(app, await LoopbackApp.StartAsync(app));
        return fake;
    }

    /// <summary>Settings that make a host send through this Twilio as the platform's account.</summary>
    public Dictionary<string, string?> HostSettings() => new()
    {
        ["Dispatch:Twilio:ApiBaseUrl"] = Url.ToString(),
        ["Dispatch:Twilio:AccountSid"] = AccountSid,
        ["Dispatch:Twilio:AuthToken"] = AuthToken,
        ["Dispatch:Twilio:From"] = Number,
    };

    private async Task<IResult> CreateMessageAsync(string sid, HttpContext http)
    {
        if (Interlocked.Decrement(ref ServiceUnavailable) >= 0)
            return Error(503, 20500, "Service unavailable");
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{AccountSid}:{AuthToken}"));
        if (sid != AccountSid || http.Request.Headers.Authorization.ToString() != expected)
            return Error(401, 20003, "Authenticate");
        var form = await http.Request.ReadFormAsync();
        string to = form["To"].ToString(), from = form["From"].ToString(), body = form["Body"].ToString();
        if (!System.Text.RegularExpressions.Regex.IsMatch(to, @"^\+[1-9][0-9]{6,14}$"))
            return Error(400, 21211, $"The 'To' number {to} is not a valid phone number.");
        if (OptedOut.ContainsKey(to))
            return Error(400, 21610, "Attempt to send to unsubscribed recipient");
        if (string.IsNullOrEmpty(body)) return Error(400, 21602, "Message body is required.");
        var messageSid = $"SM{Interlocked.Increment(ref _sequence):x32}";
        var callback = form["StatusCallback"].ToString() is { Length: > 0 } c ? c : null;
        Messages.Enqueue(new Sent(messageSid, to, from, body, callback, System.Diagnostics.Stopwatch.GetTimestamp()));
        if (callback is not null && ReportsFirst.ContainsKey(to)) await ReportAsync(callback, messageSid, to, from, Unreachable.ContainsKey(to), TimeSpan.Zero);
        else if (callback is not null) _ = ReportAsync(callback, messageSid, to, from, Unreachable.ContainsKey(to), TimeSpan.FromMilliseconds(300));
        var created = DateTimeOffset.UtcNow.ToString("ddd, dd MMM yyyy HH:mm:ss +0000", System.Globalization.CultureInfo.InvariantCulture);
        return Results.Json(new Dictionary<string, object?>
        {
            ["sid"] = messageSid, ["account_sid"] = AccountSid, ["to"] = to, ["from"] = from, ["body"] = body, ["status"] = "queued",
            ["num_segments"] = "1", ["direction"] = "outbound-api", ["api_version"] = "2010-04-01", ["date_created"] = created,
            ["date_updated"] = created, ["date_sent"] = null, ["price"] = null, ["error_code"] = null, ["error_message"] = null,
            ["uri"] = $"/2010-04-01/Accounts/{AccountSid}/Messages/{messageSid}.json",
        }, statusCode: 201);
    }

    public sealed record Call(string Sid, string To, string From, string Url, string? StatusCallback, long At)
    {
        /// <summary>The TwiML Dispatch answered with, in order: on answering, then after each key pressed.</summary>
        public ConcurrentQueue<string> Played { get; } = new();

        /// <summary>Twilio's last word on the call (its status callback was posted): completed, no-answer, ….</summary>
        public string? Ended { get; set; }
    }

    public ConcurrentQueue<Call> Calls { get; } = new();

    /// <summary>
    /// What happens when a number is called: the keys its listener presses after hearing the message (default "1"), or
    /// "no-answer" (it rings out), "voicemail" (a machine answers), "" (answered, nothing pressed).
    /// </summary>
    public ConcurrentDictionary<string, string> Answering { get; } = new();

    private async Task<IResult> CreateCallAsync(string sid, HttpContext http)
    {
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{AccountSid}:{AuthToken}"));
        if (sid != AccountSid || http.Request.Headers.Authorization.ToString() != expected)
            return Error(401, 20003, "Authenticate");
        var form = await http.Request.ReadFormAsync();
        string to = form["To"].ToString(), from = form["From"].ToString(), url = form["Url"].ToString();
        if (!System.Text.RegularExpressions.Regex.IsMatch(to, @"^\+[1-9][0-9]{6,14}$"))
            return Error(400, 21211, $"The 'To' number {to} is not a valid phone number.");
        if (string.IsNullOrEmpty(url) && string.IsNullOrEmpty(form["Twiml"])) return Error(400, 21205, "Url parameter is required.");
        var call = new Call($"CA{Interlocked.Increment(ref _sequence):x32}", to, from, url, form["StatusCallback"].ToString() is { Length: > 0 } c ? c : null,
            System.Diagnostics.Stopwatch.GetTimestamp());
        Calls.Enqueue(call);
        _ = RingAsync(call, Answering.GetValueOrDefault(to, "1"));
        return Results.Json(new Dictionary<string, object?>
        {
            ["sid"] = call.Sid, ["account_sid"] = AccountSid, ["to"] = to, ["from"] = from, ["status"] = "queued", ["direction"] = "outbound-api",
            ["api_version"] = "2010-04-01", ["uri"] = $"/2010-04-01/Accounts/{AccountSid}/Calls/{call.Sid}.json",
        }, statusCode: 201);
    }

    /// <summary>The call as Twilio runs it: rings, is answered (or not), fetches TwiML, posts the keys pressed, reports its end.</summary>
    private async Task RingAsync(Call call, string answering)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(300)); // ringing: the world's latency
        Dictionary<string, string> Fields(string status, string? answeredBy = null, string? digits = null)
        {
            var fields = new Dictionary<string, string>
            {
                ["AccountSid"] = AccountSid, ["ApiVersion"] = "2010-04-01", ["CallSid"] = call.Sid, ["CallStatus"] = status, ["Direction"] = "outbound-api",
                ["From"] = call.From, ["To"] = call.To, ["Called"] = call.To, ["Caller"] = call.From,
            };
            if (answeredBy is not null) fields["AnsweredBy"] = answeredBy;
            if (digits is not null) fields["Digits"] = digits;
            return fields;
        }
        var end = "completed";
        if (answering == "no-answer") end = "no-answer";
        else
        {
            var twiml = await (await PostSignedAsync(call.Url, Fields("in-progress", answering == "voicemail" ? "machine_start" : "human"))).Content.ReadAsStringAsync();
            call.Played.Enqueue(twiml);
            foreach (var key in answering == "voicemail" ? "" : answering)
            {
                var action = System.Xml.Linq.XElement.Parse(twiml).Descendants("Gather").FirstOrDefault()?.Attribute("action")?.Value;
                if (action is null) break; // hung up
                twiml = await (await PostSignedAsync(action, Fields("in-progress", "human", key.ToString()))).Content.ReadAsStringAsync();
                call.Played.Enqueue(twiml);
            }
        }
        if (call.StatusCallback is not null) await PostSignedAsync(call.StatusCallback, Fields(end));
        call.Ended = end;
    }

    private static IResult Error(int status, int code, string message) => Results.Json(new
    {
        code, message, more_info = $"https://www.twilio.com/docs/errors/{code}", status,
    }, statusCode: status);

    /// <summary>Twilio's delivery reports, after the carrier's hop: sent, then delivered (or undelivered with 30003).</summary>
    private async Task ReportAsync(string callback, string sid, string to, string from, bool unreachable, TimeSpan after)
    {
        await Task.Delay(after); // the world's latency, not a test's wait
        await PostSignedAsync(callback, Report(sid, to, from, "sent"));
        await PostSignedAsync(callback, unreachable ? Report(sid, to, from, "undelivered", "30003") : Report(sid, to, from, "delivered"));
    }

    private static Dictionary<string, string> Report(string sid, string to, string from, string status, string? errorCode = null)
    {
        var fields = new Dictionary<string, string>
        {
            ["AccountSid"] = AccountSid, ["ApiVersion"] = "2010-04-01", ["From"] = from, ["To"] = to, ["MessageSid"] = sid, ["SmsSid"] = sid,
            ["MessageStatus"] = status, ["SmsStatus"] = status,
        };
        if (errorCode is not null) fields["ErrorCode"] = errorCode;
        return fields;
    }

    /// <summary>A text from <paramref name="from"/> to Dispatch's number, posted to <paramref name="hook"/> as Twilio would; returns the answer.</summary>
    public Task<HttpResponseMessage> SendInboundAsync(Uri hook, string from, string body, string? signWith = null) =>
        PostSignedAsync(hook.ToString(), new Dictionary<string, string>
        {
            ["ToCountry"] = "US", ["SmsMessageSid"] = $"SM{Guid.NewGuid():N}", ["NumMedia"] = "0", ["SmsSid"] = $"SM{Guid.NewGuid():N}",
            ["SmsStatus"] = "received", ["Body"] = body, ["To"] = Number, ["NumSegments"] = "1", ["MessageSid"] = $"SM{Guid.NewGuid():N}",
            ["AccountSid"] = AccountSid, ["From"] = from, ["ApiVersion"] = "2010-04-01",
        }, signWith);

    public async Task<HttpResponseMessage> PostSignedAsync(string url, Dictionary<string, string> fields, string? signWith = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new FormUrlEncodedContent(fields) };
        request.Headers.Add("X-Twilio-Signature", Sign(signWith ?? AuthToken, url, fields));
        request.Headers.Add("I-Twilio-Idempotency-Token", Guid.NewGuid().ToString());
        return await _poster.SendAsync(request);
    }

    /// <summary>Twilio's request signature: base64(HMAC-SHA1(auth token, URL + each field's name and value, by name in ordinal order)).</summary>
    public static string Sign(string authToken, string url, IReadOnlyDictionary<string, string> fields)
    {
        var data = new StringBuilder(url);
        foreach (var (name, value) in fields.OrderBy(f => f.Key, StringComparer.Ordinal)) data.Append(name).Append(value);
        return Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(authToken), Encoding.UTF8.GetBytes(data.ToString())));
    }

    public async ValueTask DisposeAsync()
    {
        _poster.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
