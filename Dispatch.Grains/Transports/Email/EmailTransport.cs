using System.Net;
using System.Net.Mail;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Options;

namespace Dispatch.Grains.Transports.Email;

/// <summary><c>Dispatch:Email</c>: the platform's SMTP server (or a pickup folder), used where a channel names none.</summary>
public sealed class EmailOptions
{
    public const string Section = "Dispatch:Email";

    public string? SmtpHost { get; set; }
    public int SmtpPort { get; set; } = 25;
    public bool StartTls { get; set; }
    public string? Username { get; set; }
    public string? Password { get; set; }
    public string From { get; set; } = "dispatch@localhost";

    /// <summary>Writes .eml files here instead of talking SMTP (the embedded default).</summary>
    public string? PickupDirectory { get; set; }
}

/// <summary>Email over SMTP with System.Net.Mail: a readable subject, plain-text and HTML bodies, the acknowledgement link.</summary>
public sealed class EmailTransport(IOptions<EmailOptions> options) : ITransport
{
    public string Slug => TransportSlug.Email;

    public async Task<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        var channel = ChannelConfig.Read<ChannelConfig.Email>(message.ChannelConfig);
        var personal = ChannelConfig.Read<ChannelConfig.Email>(message.RecipientOverride);
        var platform = options.Value;
        var to = personal.To ?? channel.To ?? message.RecipientEmail;
        var messageId = $"<{message.IdempotencyKey:N}@dispatch>";

        using var mail = new MailMessage(new MailAddress(channel.From ?? platform.From, "Dispatch"), new MailAddress(to, message.RecipientName))
        {
            Subject = Subject(message),
            SubjectEncoding = Encoding.UTF8,
            BodyEncoding = Encoding.UTF8,
            Body = PlainBody(message).ReplaceLineEndings("\r\n"), // bare LFs would be quoted-printable-encoded as =0A
            BodyTransferEncoding = System.Net.Mime.TransferEncoding.QuotedPrintable, // readable in a raw mailbox, unlike base64
        };
        // The idempotency key as Message-ID: a resent attempt is recognisably the same message.
        mail.Headers.Add("Message-ID", messageId);
        mail.Headers.Add("X-Dispatch-Delivery", message.DeliveryId.ToString());
        mail.Headers.Add("X-Dispatch-Incident", message.IncidentId.ToString());
        var html = AlternateView.CreateAlternateViewFromString(HtmlBody(message).ReplaceLineEndings("\r\n"), Encoding.UTF8, "text/html");
        html.TransferEncoding = System.Net.Mime.TransferEncoding.QuotedPrintable;
        mail.AlternateViews.Add(html);

        using var smtp = channel.SmtpHost is null && platform.SmtpHost is null && platform.PickupDirectory is not null
            ? new SmtpClient { DeliveryMethod = SmtpDeliveryMethod.SpecifiedPickupDirectory, PickupDirectoryLocation = Directory.CreateDirectory(platform.PickupDirectory).FullName }
            : Client(channel, platform);
        if (smtp is null) return SendResult.Permanent("No SMTP server configured for this channel or the platform (Dispatch:Email:SmtpHost).");
        try
        {
            await smtp.SendMailAsync(mail, cancellationToken);
            return SendResult.Sent(messageId);
        }
        catch (SmtpFailedRecipientException e) when (IsPermanent(e.StatusCode))
        {
            return SendResult.Permanent($"SMTP refused {to}: {(int)e.StatusCode} {e.Message}");
        }
        catch (SmtpException e) when (IsPermanent(e.StatusCode) && e.InnerException is null)
        {
            return SendResult.Permanent($"SMTP {(int)e.StatusCode}: {e.Message}");
        }
        catch (Exception e) when (e is SmtpException or SocketException or IOException or TimeoutException)
        {
            return SendResult.Transient($"SMTP unavailable: {e.GetBaseException().Message}");
        }
    }

    private static SmtpClient? Client(ChannelConfig.Email channel, EmailOptions platform)
    {
        var host = channel.SmtpHost ?? platform.SmtpHost;
        if (host is null) return null;
        var own = channel.SmtpHost is not null;
        var username = own ? channel.Username : platform.Username;
        return new SmtpClient(host, own ? channel.SmtpPort ?? 25 : platform.SmtpPort)
        {
            EnableSsl = own ? channel.StartTls ?? false : platform.StartTls,
            Timeout = 30_000,
            Credentials = username is null ? null : new NetworkCredential(username, own ? channel.Password : platform.Password),
        };
    }

    // 5xx is a definitive refusal; 4xx and anything without a code is worth another try.
    private static bool IsPermanent(SmtpStatusCode code) => (int)code >= 500 && code != SmtpStatusCode.GeneralFailure;

    public static string Subject(OutboundMessage m) => m.Alert is { } alert
        ? $"[PSAP ALERT - {PriorityLabel(m.Priority)}] {alert.Headline(m.Title)}"
        : $"[{PriorityLabel(m.Priority)}] {m.Title}";

    public static string PriorityLabel(string priority) => priority switch
    {
        "irod" => "IROD - immediate risk of death",
        "critical" => "CRITICAL",
        "dangerous" => "DANGEROUS",
        _ => "ROUTINE/SPECIAL",
    };

    /// <summary>A PSAP alert's lines about the company's people: tier, name, address, each channel and how it went.</summary>
    public static IEnumerable<string> ContactLines(PsapAlert alert) => alert.Contacts.Count == 0
        ? [$"Nobody at {alert.CompanyName} could be notified."]
        : alert.Contacts.Select(c =>
            $"Tier {c.Tier + 1}: {c.Name} <{c.Email}>{(c.Acknowledged ? " (acknowledged)" : "")} - " +
            (c.Channels.Count == 0 ? "no channel" : string.Join("; ", c.Channels.Select(ch => $"{ch.Transport} \"{ch.Channel}\": {ch.Status}"))));

    private const string SeenInstruction = "Confirm that you have seen this alert (it does not acknowledge for the company):";

    private static string PlainBody(OutboundMessage m)
    {
        if (m.Alert is { } alert)
        {
            var text = new StringBuilder()
                .AppendLine($"PSAP ALERT: {alert.Headline(m.Title)} ({PriorityLabel(m.Priority)}), after {alert.TiersTried}.")
                .AppendLine()
                .AppendLine($"Reach {alert.CompanyName}'s people directly:");
            foreach (var line in ContactLines(alert)) text.AppendLine("  " + line);
            text.AppendLine()
                .AppendLine($"Address: {m.Address ?? "(none given)"}")
                .AppendLine(m.Description)
                .AppendLine()
                .AppendLine($"Incident {m.IncidentId}");
            if (m.AckUrl is not null) text.AppendLine().AppendLine(SeenInstruction).AppendLine(m.AckUrl.ToString());
            return text.ToString();
        }
        var body = new StringBuilder()
            .AppendLine($"{PriorityLabel(m.Priority)}: {m.Title}")
            .AppendLine()
            .AppendLine($"Address: {m.Address ?? "(none given)"}")
            .AppendLine(m.Description)
            .AppendLine()
            .AppendLine($"Incident {m.IncidentId}");
        if (m.AckUrl is not null)
            body.AppendLine().AppendLine("Acknowledge that your company is responding:").AppendLine(m.AckUrl.ToString());
        return body.ToString();
    }

    private static string HtmlBody(OutboundMessage m)
    {
        static string E(string? s) => WebUtility.HtmlEncode(s ?? "");
        if (m.Alert is { } alert)
        {
            var contacts = string.Concat(ContactLines(alert).Select(l => $"<li>{E(l)}</li>"));
            var seen = m.AckUrl is null ? "" :
                $"""<p>{E(SeenInstruction)}</p><p><a href="{E(m.AckUrl.ToString())}" style="padding:10px 16px;background:#333;color:#fff;text-decoration:none">I have seen this alert</a></p>""";
            return $"""
                <html><body>
                <h2>PSAP ALERT: {E(alert.Headline(m.Title))}</h2>
                <p>{E(PriorityLabel(m.Priority))}, after {E(alert.TiersTried)}.</p>
                <p><strong>Reach {E(alert.CompanyName)}'s people directly:</strong></p>
                <ul>{contacts}</ul>
                <p><strong>Address:</strong> {E(m.Address ?? "(none given)")}</p>
                <p>{E(m.Description)}</p>
                {seen}
                <p style="color:#666">Incident {m.IncidentId}</p>
                </body></html>
                """;
        }
        var ack = m.AckUrl is null ? "" :
            $"""<p><a href="{E(m.AckUrl.ToString())}" style="padding:10px 16px;background:#b00020;color:#fff;text-decoration:none">Acknowledge</a></p>""";
        return $"""
            <html><body>
            <h2>{E(PriorityLabel(m.Priority))}: {E(m.Title)}</h2>
            <p><strong>Address:</strong> {E(m.Address ?? "(none given)")}</p>
            <p>{E(m.Description)}</p>
            {ack}
            <p style="color:#666">Incident {m.IncidentId}</p>
            </body></html>
            """;
    }
}
