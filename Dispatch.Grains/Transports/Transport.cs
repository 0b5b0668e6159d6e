using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Dispatch.Grains.Transports;

public static class TransportSlug
{
    public const string Email = "email";
    public const string Webhook = "webhook";
    public const string Sms = "sms";
    public const string Voice = "voice";
    public const string Telegram = "telegram";

    public static IReadOnlyList<string> All { get; } = [Email, Webhook, Sms, Voice, Telegram];
}

/// <summary>
/// Everything a transport needs to send one delivery; built by the delivery engine from committed rows. A heartbeat alert
/// (<see cref="Heartbeat"/>) is about a command connection, not an incident: no incident, no address, nothing to acknowledge.
/// </summary>
public sealed record OutboundMessage(
    Guid DeliveryId,
    Guid IdempotencyKey,
    int Attempt,
    Guid? IncidentId,
    Guid NotificationId,
    string Priority,
    string Title,
    string Description,
    string? Address,
    string RecipientName,
    string RecipientEmail,
    JsonObject ChannelConfig,
    JsonObject? RecipientOverride,
    Uri? AckUrl,
    PsapAlert? Alert = null,
    HeartbeatAlert? Heartbeat = null);

/// <summary>
/// A PSAP's command system (its CAD link) went silent past its heartbeat interval, or was heard from again: told to the PSAP
/// users the connection names, once per outage and once on recovery.
/// </summary>
/// <param name="SilentSince">When it was last heard from (or its heartbeat was set up, if never).</param>
/// <param name="At">When the outage was declared, or the connection heard again.</param>
public sealed record HeartbeatAlert(Guid ConnectionId, string ConnectionName, bool Recovered, int IntervalSeconds, DateTimeOffset SilentSince,
    DateTimeOffset At)
{
    public string Headline => Recovered
        ? $"CAD link \"{ConnectionName}\" is heard from again"
        : $"CAD link \"{ConnectionName}\" is silent";

    public string Detail => Recovered
        ? $"Dispatch hears from the command connection \"{ConnectionName}\" again since {At:yyyy-MM-dd HH:mm:ss} UTC; acknowledgements and incidents flow again."
        : $"Nothing from the command connection \"{ConnectionName}\" since {SilentSince:yyyy-MM-dd HH:mm:ss} UTC; it is expected every " +
          $"{IntervalSeconds} s. Incidents it sends and acknowledgements it should receive may not be getting through: check the CAD link.";
}

/// <summary>
/// What a PSAP alert is about: the company that has not acknowledged (or cannot be reached), why, and its people the incident
/// reached so far — by tier, with their address and how each channel went — so that the dispatcher can call them.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record PsapAlert(Guid CompanyId, string CompanyName, string Reason, IReadOnlyList<PsapAlert.Contact> Contacts)
{
    [GenerateSerializer, Immutable]
    public sealed record Contact(int Tier, string Name, string Email, bool Acknowledged, IReadOnlyList<ChannelTried> Channels);

    [GenerateSerializer, Immutable]
    public sealed record ChannelTried(string Channel, string Transport, string Status);

    /// <summary>One sentence: who has not answered, and why the PSAP hears of it.</summary>
    public string Headline(string incidentTitle) => Reason switch
    {
        "no_recipients" => $"{CompanyName} has nobody who can be reached for \"{incidentTitle}\"",
        "unreachable" => $"{CompanyName} could not be reached on every channel for \"{incidentTitle}\"",
        _ => $"{CompanyName} has not acknowledged \"{incidentTitle}\"",
    };

    /// <summary>The tiers tried so far, as people read them ("tiers 1 and 2"; tier 0 is the first).</summary>
    public string TiersTried
    {
        get
        {
            var tiers = Contacts.Select(c => c.Tier + 1).Distinct().Order().ToList();
            return tiers.Count switch
            {
                0 => "no tier reached anyone",
                1 => $"tier {tiers[0]}",
                _ => $"tiers {string.Join(", ", tiers[..^1])} and {tiers[^1]}",
            };
        }
    }
}

public enum SendOutcome { Sent, Transient, Permanent }

public sealed record SendResult(SendOutcome Outcome, string? ExternalMessageId = null, string? Error = null)
{
    public static SendResult Sent(string? id) => new(SendOutcome.Sent, id);
    public static SendResult Transient(string error) => new(SendOutcome.Transient, Error: error);
    public static SendResult Permanent(string error) => new(SendOutcome.Permanent, Error: error);
}

/// <summary>One way out: email, webhook, …; answers whether a failure is worth retrying.</summary>
public interface ITransport
{
    string Slug { get; }

    Task<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken);
}

/// <summary>The typed configuration of each transport's channels and per-user overrides, and their validation.</summary>
public static class ChannelConfig
{
    public sealed record Email(string? SmtpHost, int? SmtpPort, bool? StartTls, bool? ImplicitTls, string? Username, string? Password, string? From, string? To);

    public sealed record Webhook(string? Url, string? Secret, int? TimeoutSeconds);

    public sealed record Sms(string? AccountSid, string? AuthToken, string? From, string? Phone);

    public sealed record Telegram(string? ChatId);

    private static readonly JsonSerializerOptions Strict = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public static T Read<T>(JsonObject? json) => (json ?? new JsonObject()).Deserialize<T>(Strict)!;

    private static readonly Dictionary<string, Type> Types = new()
    {
        [TransportSlug.Email] = typeof(Email), [TransportSlug.Webhook] = typeof(Webhook),
        [TransportSlug.Sms] = typeof(Sms), [TransportSlug.Voice] = typeof(Sms), [TransportSlug.Telegram] = typeof(Telegram),
    };

    /// <summary>Field errors (keys prefixed with <paramref name="prefix"/>) for a channel's config or a user's override.</summary>
    public static Dictionary<string, string[]> Validate(string slug, JsonObject? json, bool isOverride, string prefix = "config")
    {
        var errors = new Dictionary<string, List<string>>();
        void Add(string field, string message) => (errors.TryGetValue($"{prefix}.{field}", out var l) ? l : errors[$"{prefix}.{field}"] = []).Add(message);
        if (!Types.TryGetValue(slug, out var type))
        {
            Add("type", $"unknown transport '{slug}'.");
            return Done();
        }
        var allowed = type.GetProperties().Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name)).ToHashSet();
        var known = new JsonObject();
        foreach (var (key, value) in json ?? new JsonObject())
        {
            if (allowed.Contains(key)) known[key] = value?.DeepClone();
            else Add(key, $"is not a setting of a {slug} channel.");
        }
        try
        {
            switch (slug)
            {
                case TransportSlug.Email:
                    var email = known.Deserialize<Email>(JsonSerializerOptions.Web)!;
                    if (isOverride && email with { To = null } != new Email(null, null, null, null, null, null, null, null))
                        Add("to", "a personal override holds only 'to'.");
                    if (email.To is not null && !IsEmail(email.To)) Add("to", "must be an email address.");
                    if (email.From is not null && !IsEmail(email.From)) Add("from", "must be an email address.");
                    if (email.SmtpPort is < 1 or > 65535) Add("smtpPort", "must be a TCP port.");
                    if (email.StartTls == true && email.ImplicitTls == true) Add("implicitTls", "choose STARTTLS or implicit TLS, not both.");
                    if (email.Username is not null && email.SmtpHost is null) Add("username", "is for the channel's own SMTP server: set smtpHost too.");
                    break;
                case TransportSlug.Webhook:
                    var webhook = known.Deserialize<Webhook>(JsonSerializerOptions.Web)!;
                    var urlOk = Uri.TryCreate(webhook.Url, UriKind.Absolute, out var u) && u.Scheme is "http" or "https";
                    if ((webhook.Url is not null || !isOverride) && !urlOk) Add("url", "an absolute http(s) URL is required.");
                    if (!isOverride && (webhook.Secret?.Length ?? 0) < 16) Add("secret", "a signing secret of at least 16 characters is required.");
                    if (webhook.TimeoutSeconds is < 1 or > 60) Add("timeoutSeconds", "must be between 1 and 60.");
                    break;
                case TransportSlug.Sms or TransportSlug.Voice: // a call takes what a text does: an account, a number to call from, one to call
                    var sms = known.Deserialize<Sms>(JsonSerializerOptions.Web)!;
                    if (sms.Phone is not null && !IsE164(sms.Phone)) Add("phone", "must be an E.164 number such as +15551234567.");
                    if (sms.From is not null && !IsE164(sms.From)) Add("from", "must be the sending number in E.164, such as +15557654321.");
                    if (isOverride && sms with { Phone = null } != new Sms(null, null, null, null)) Add("phone", "a personal override holds only 'phone'.");
                    if (sms.AccountSid is not null && !System.Text.RegularExpressions.Regex.IsMatch(sms.AccountSid, "^AC[0-9a-f]{32}$"))
                        Add("accountSid", "must be a Twilio account SID (AC followed by 32 hexadecimal digits).");
                    if ((sms.AccountSid is null) != (sms.AuthToken is null)) Add(sms.AccountSid is null ? "accountSid" : "authToken", "a Twilio account needs both accountSid and authToken.");
                    break;
                default:
                    known.Deserialize(type, JsonSerializerOptions.Web);
                    break;
            }
        }
        catch (JsonException e)
        {
            Add(e.Path?.TrimStart('$', '.') ?? "", "has the wrong type.");
        }
        return Done();

        Dictionary<string, string[]> Done() => errors.ToDictionary(e => e.Key, e => e.Value.ToArray());
    }

    /// <summary>
    /// Field errors for the destinations a channel's config or a user's override names (webhook URL, SMTP host) that the outbound
    /// policy refuses; run after <see cref="Validate"/> found the config well formed.
    /// </summary>
    public static async Task<Dictionary<string, string[]>> CheckDestinationsAsync(OutboundPolicy policy, string slug, JsonObject? json,
        string prefix = "config", CancellationToken cancellationToken = default)
    {
        var errors = new Dictionary<string, string[]>();
        switch (slug)
        {
            case TransportSlug.Webhook when Read<Webhook>(json).Url is { } url && Uri.TryCreate(url, UriKind.Absolute, out var uri):
                if (await policy.CheckUrlAsync(uri, cancellationToken) is { } refusal) errors[$"{prefix}.url"] = [$"The URL is refused: {refusal}"];
                break;
            case TransportSlug.Email when Read<Email>(json).SmtpHost is { Length: > 0 } host:
                if (await policy.CheckHostAsync(host, cancellationToken) is { } refused) errors[$"{prefix}.smtpHost"] = [$"The SMTP host is refused: {refused}"];
                break;
        }
        return errors;
    }

    private static bool IsE164(string value) => System.Text.RegularExpressions.Regex.IsMatch(value, @"^\+[1-9][0-9]{6,14}$");

    private static bool IsEmail(string value) => Transports.Email.EmailAddress.IsValid(value);
}
