using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Dispatch.Grains.Transports.Email;

/// <summary><c>Dispatch:Email</c>: the platform's SMTP server (or a pickup folder), used where a channel names none.</summary>
public sealed class EmailOptions
{
    public const string Section = "Dispatch:Email";

    public string? SmtpHost { get; set; }
    public int SmtpPort { get; set; } = 25;

    /// <summary>Upgrade with STARTTLS, and refuse a server that does not offer it.</summary>
    public bool StartTls { get; set; }

    /// <summary>TLS from the first byte (SMTPS, usually port 465).</summary>
    public bool ImplicitTls { get; set; }

    public string? Username { get; set; }
    public string? Password { get; set; }
    public string From { get; set; } = "dispatch@localhost";

    /// <summary>
    /// A PEM certificate file: an SMTP server presenting exactly this certificate is trusted although no authority signed it (the
    /// operator's private relay with a self-signed certificate). Every other server must present a certificate the machine trusts.
    /// </summary>
    public string? TrustedCertificate { get; set; }

    /// <summary>Writes .eml files here instead of talking SMTP (the embedded default).</summary>
    public string? PickupDirectory { get; set; }
}

/// <summary>
/// Email over SMTP with MailKit — STARTTLS or implicit TLS, authentication only over an encrypted connection — or into a pickup
/// folder: a readable subject, plain-text and HTML bodies, the acknowledgement link. A channel's own SMTP host is connected to
/// only at an address the outbound policy allows (checked again at send time); the platform's, set by its operator, is trusted.
/// A session (connection, TLS, login) is kept after a send and reused by the next send to the same server within
/// <see cref="KeepIdle"/>, after a NOOP shows it is still open: a new session costs several round trips and a TLS handshake.
/// </summary>
public sealed class EmailTransport(IOptions<EmailOptions> options, OutboundPolicy policy) : ITransport, IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>How long an idle session is kept for the next send (relays commonly close idle sessions after a minute or more).</summary>
    public static readonly TimeSpan KeepIdle = TimeSpan.FromSeconds(20);

    private const int MaxIdlePerServer = 4;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Server, System.Collections.Concurrent.ConcurrentQueue<(SmtpClient Client, long Since)>> _idle = new();

    public string Slug => TransportSlug.Email;

    /// <summary>Where and how to talk SMTP: the channel's own server, or the platform's.</summary>
    private sealed record Server(string Host, int Port, SecureSocketOptions Security, string? Username, string? Password, bool Checked);

    public async Task<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        var channel = ChannelConfig.Read<ChannelConfig.Email>(message.ChannelConfig);
        var personal = ChannelConfig.Read<ChannelConfig.Email>(message.RecipientOverride);
        var platform = options.Value;
        var to = personal.To ?? channel.To ?? message.RecipientEmail;
        if (!EmailAddress.IsValid(to)) return SendResult.Permanent($"'{to}' is not an email address.");
        var mail = Compose(message, channel.From ?? platform.From, to);
        var messageId = $"<{mail.MessageId}>";

        Server? server = channel.SmtpHost is { } own
            ? new(own, channel.SmtpPort ?? (channel.ImplicitTls == true ? 465 : 25), Security(channel.StartTls, channel.ImplicitTls), channel.Username, channel.Password, Checked: true)
            : platform.SmtpHost is { } host
                ? new(host, platform.SmtpPort, Security(platform.StartTls, platform.ImplicitTls), platform.Username, platform.Password, Checked: false)
                : null;
        if (server is null)
        {
            if (platform.PickupDirectory is null) return SendResult.Permanent("No SMTP server configured for this channel or the platform (Dispatch:Email:SmtpHost).");
            await WritePickupAsync(mail, platform.PickupDirectory, cancellationToken);
            return SendResult.Sent(messageId);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        SmtpClient? smtp = null;
        try
        {
            smtp = await ReuseAsync(server, timeout.Token) ?? await OpenAsync(server, timeout.Token);
            await smtp.SendAsync(mail, timeout.Token);
            Keep(server, ref smtp);
            return SendResult.Sent(messageId);
        }
        catch (RefusedException e)
        {
            return SendResult.Permanent(e.Message);
        }
        catch (SmtpCommandException e) when ((int)e.StatusCode >= 500) // a definitive refusal (a mailbox that does not exist)
        {
            return SendResult.Permanent($"SMTP refused {to}: {(int)e.StatusCode} {e.Message}");
        }
        catch (SmtpCommandException e)
        {
            return SendResult.Transient($"SMTP {(int)e.StatusCode}: {e.Message}");
        }
        catch (ServiceNotAuthenticatedException)
        {
            return SendResult.Permanent($"The SMTP server {server.Host}:{server.Port} takes mail only from a user who logs in: set username and password.");
        }
        catch (AuthenticationException e)
        {
            return SendResult.Permanent($"SMTP authentication failed: {e.Message}");
        }
        catch (SslHandshakeException)
        {
            return SendResult.Permanent($"TLS with the SMTP server {server.Host}:{server.Port} failed: its certificate is not trusted, or it does not speak TLS there.");
        }
        catch (NotSupportedException e) // STARTTLS demanded but not offered, or no authentication mechanism in common
        {
            return SendResult.Permanent($"The SMTP server {server.Host}:{server.Port} cannot: {e.Message}");
        }
        catch (OutboundRefusedException e)
        {
            return SendResult.Permanent($"The SMTP host is refused: {e.Message}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return SendResult.Transient($"SMTP server {server.Host}:{server.Port} did not answer within {Timeout.TotalSeconds:0} s.");
        }
        catch (Exception e) when (e is SmtpProtocolException or ServiceNotConnectedException or SocketException or IOException or TimeoutException)
        {
            return SendResult.Transient($"SMTP unavailable: {e.GetBaseException().Message}");
        }
        finally
        {
            smtp?.Dispose(); // a session that failed is not kept
        }
    }

    /// <summary>A password the connection would carry in the clear.</summary>
    private sealed class RefusedException(string message) : Exception(message);

    /// <summary>A new session: connected, secured as the server is configured, logged in.</summary>
    private async Task<SmtpClient> OpenAsync(Server server, CancellationToken cancellationToken)
    {
        var smtp = new SmtpClient { Timeout = (int)Timeout.TotalMilliseconds };
        try
        {
            if (options.Value.TrustedCertificate is { } pem) smtp.ServerCertificateValidationCallback = TrustExactly(pem);
            await ConnectAsync(smtp, server, cancellationToken);
            if (server.Username is not null)
            {
                if (!smtp.IsSecure)
                    throw new RefusedException("Refusing to send the SMTP password over an unencrypted connection: set startTls or implicitTls.");
                await smtp.AuthenticateAsync(server.Username, server.Password ?? "", cancellationToken);
            }
            return smtp;
        }
        catch
        {
            smtp.Dispose();
            throw;
        }
    }

    /// <summary>
    /// An idle session to the server that still answers a NOOP, or null. A session the server has closed meanwhile fails the NOOP,
    /// before any part of a message was sent, and is dropped for a new one: nothing is sent twice.
    /// </summary>
    private async Task<SmtpClient?> ReuseAsync(Server server, CancellationToken cancellationToken)
    {
        if (!_idle.TryGetValue(server, out var queue)) return null;
        while (queue.TryDequeue(out var idle))
        {
            if (System.Diagnostics.Stopwatch.GetElapsedTime(idle.Since) < KeepIdle && idle.Client.IsConnected)
            {
                try
                {
                    await idle.Client.NoOpAsync(cancellationToken);
                    return idle.Client;
                }
                catch (Exception e) when (e is SmtpProtocolException or SmtpCommandException or ServiceNotConnectedException or IOException or SocketException)
                {
                    // closed by the server while idle
                }
            }
            idle.Client.Dispose();
        }
        return null;
    }

    /// <summary>Keeps a session that has just sent, for the next send to the same server (the caller no longer owns it).</summary>
    private void Keep(Server server, ref SmtpClient? smtp)
    {
        var queue = _idle.GetOrAdd(server, _ => new());
        if (queue.Count >= MaxIdlePerServer) return; // the caller disposes it
        queue.Enqueue((smtp!, System.Diagnostics.Stopwatch.GetTimestamp()));
        smtp = null;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var queue in _idle.Values)
        while (queue.TryDequeue(out var idle))
        {
            try { await idle.Client.DisconnectAsync(quit: true, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(2)); }
            catch (Exception e) when (e is IOException or SocketException or SmtpProtocolException or ServiceNotConnectedException or TimeoutException) { }
            idle.Client.Dispose();
        }
    }

    private static SecureSocketOptions Security(bool? startTls, bool? implicitTls) =>
        implicitTls == true ? SecureSocketOptions.SslOnConnect
        : startTls == true ? SecureSocketOptions.StartTls
        : SecureSocketOptions.StartTlsWhenAvailable; // encrypted whenever the server can; a relay without TLS still works

    private async Task ConnectAsync(SmtpClient smtp, Server server, CancellationToken cancellationToken)
    {
        if (!server.Checked)
        {
            await smtp.ConnectAsync(server.Host, server.Port, server.Security, cancellationToken);
            return;
        }
        // An agency admin's host: connected only at an address the policy allows, resolved now (not when the channel was saved).
        var addresses = await policy.ResolveAsync(server.Host, cancellationToken);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, server.Port, cancellationToken);
            await smtp.ConnectAsync(socket, server.Host, server.Port, server.Security, cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static System.Net.Security.RemoteCertificateValidationCallback TrustExactly(string pemFile)
    {
        var trusted = X509Certificate2.CreateFromPem(File.ReadAllText(pemFile)); // the certificate alone: no key
        return (_, certificate, _, errors) => errors == System.Net.Security.SslPolicyErrors.None
            || certificate is not null && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(certificate.GetRawCertData(), trusted.RawData);
    }

    /// <summary>Writes the message as an .eml file, whole or not at all (a reader never sees half of one).</summary>
    private static async Task WritePickupAsync(MimeMessage mail, string directory, CancellationToken cancellationToken)
    {
        var folder = Directory.CreateDirectory(directory).FullName;
        var name = $"{DateTime.UtcNow:yyyyMMddTHHmmssfff}-{Guid.NewGuid():N}";
        var partial = Path.Combine(folder, name + ".tmp");
        mail.Prepare(EncodingConstraint.SevenBit); // as SMTP would carry it: quoted-printable, readable in a raw file
        await mail.WriteToAsync(partial, cancellationToken);
        File.Move(partial, Path.Combine(folder, name + ".eml"));
    }

    public static MimeMessage Compose(OutboundMessage m, string from, string to)
    {
        var mail = new MimeMessage
        {
            Subject = Subject(m),
            // The idempotency key as Message-ID: a resent attempt is recognisably the same message.
            MessageId = $"{m.IdempotencyKey:N}@dispatch",
            Body = new BodyBuilder { TextBody = PlainBody(m).ReplaceLineEndings("\r\n"), HtmlBody = HtmlBody(m).ReplaceLineEndings("\r\n") }.ToMessageBody(),
        };
        mail.From.Add(new MailboxAddress("Dispatch", from));
        mail.To.Add(new MailboxAddress(m.RecipientName, to));
        mail.Headers.Add("X-Dispatch-Delivery", m.DeliveryId.ToString());
        if (m.IncidentId is { } incident) mail.Headers.Add("X-Dispatch-Incident", incident.ToString());
        if (m.Heartbeat is { } heartbeat) mail.Headers.Add("X-Dispatch-Command-Connection", heartbeat.ConnectionId.ToString());
        return mail;
    }

    public static string Subject(OutboundMessage m) => m switch
    {
        { Alert: { } alert } => $"[PSAP ALERT - {PriorityLabel(m.Priority)}] {alert.Headline(m.Title)}",
        { Heartbeat: { Recovered: true } } => $"[CAD LINK BACK] {m.Title}",
        { Heartbeat: not null } => $"[CAD LINK DOWN] {m.Title}",
        _ => $"[{PriorityLabel(m.Priority)}] {m.Title}",
    };

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
        if (m.Heartbeat is not null) return $"{m.Title}.\n\n{m.Description}\n"; // about a CAD link: nothing to acknowledge
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
        if (m.Heartbeat is not null)
            return $"""
                <html><body>
                <h2>{E(m.Title)}</h2>
                <p>{E(m.Description)}</p>
                </body></html>
                """;
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

/// <summary>An email address as people and mail servers mean it: one bare mailbox (no display name, no group).</summary>
public static class EmailAddress
{
    public static bool IsValid(string? value) =>
        value is { Length: > 0 and <= 254 } && value == value.Trim()
        && MailboxAddress.TryParse(ParserOptions.Default, value, out var mailbox)
        && mailbox.Address == value && string.IsNullOrEmpty(mailbox.Name)
        && value.IndexOf('@') is > 0 and var at && at < value.Length - 1;
}
