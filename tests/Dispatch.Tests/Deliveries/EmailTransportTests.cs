using System.Net;
using System.Text.Json.Nodes;
using Dispatch.Grains.Transports;
using Dispatch.Grains.Transports.Email;
using Dispatch.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace Dispatch.Tests.Deliveries;

/// <summary>
/// The email transport (MailKit) against a real SMTP server in this process: STARTTLS and implicit TLS with a pinned
/// certificate, authentication only over TLS, a channel's own server checked against the outbound policy when sending, and
/// the pickup folder for development.
/// </summary>
public sealed class EmailTransportTests
{
    private static readonly OutboundPolicy Loopback = new([IPNetwork.Parse("127.0.0.0/8")], [], null);

    private static OutboundMessage Message(JsonObject? channel = null, string to = "oncall@gasco.example") => new(
        DeliveryId: Guid.NewGuid(), IdempotencyKey: Guid.NewGuid(), Attempt: 1, IncidentId: Guid.NewGuid(), NotificationId: Guid.NewGuid(),
        Priority: "critical", Title: "Gas smell at school", Description: "Strong odour reported by staff", Address: "12 Elm Street",
        RecipientName: "Rita Responder", RecipientEmail: to, ChannelConfig: channel ?? [], RecipientOverride: null,
        AckUrl: new Uri("https://dispatch.example/hooks/email/ack?t=abc"));

    private static EmailTransport Transport(EmailOptions options, OutboundPolicy? policy = null) => new(Options.Create(options), policy ?? Loopback);

    private static EmailOptions Platform(MailServer server, bool trust = true, bool credentials = true) => new()
    {
        SmtpHost = "127.0.0.1", SmtpPort = server.Port, StartTls = server.Secured,
        Username = credentials && server.Secured ? MailServer.User : null, Password = credentials && server.Secured ? MailServer.Password : null,
        TrustedCertificate = trust ? server.CertificatePem : null, From = "dispatch@metro911.example",
    };

    [Fact]
    public async Task Mail_goes_over_starttls_as_the_authenticated_user_with_both_bodies_and_the_link()
    {
        await using var server = await MailServer.StartAsync(secured: true);
        var message = Message();

        var result = await Transport(Platform(server)).SendAsync(message, CancellationToken.None);

        Assert.Equal(SendOutcome.Sent, result.Outcome);
        var mail = Assert.Single(server.Messages());
        Assert.True(mail.OverTls);
        Assert.Equal(MailServer.User, mail.AuthenticatedAs);
        Assert.Equal("oncall@gasco.example", mail.ToAddress);
        Assert.Equal("[CRITICAL] Gas smell at school", mail.Subject);
        Assert.Equal($"<{message.IdempotencyKey:N}@dispatch>", mail.MessageId);
        Assert.Equal(result.ExternalMessageId, mail.MessageId);
        Assert.Equal(message.DeliveryId.ToString(), mail.DeliveryId);
        Assert.Contains("Address: 12 Elm Street\nStrong odour reported by staff", mail.Decoded);
        Assert.Contains("https://dispatch.example/hooks/email/ack?t=abc", mail.Decoded);
        Assert.Contains("href=\"https://dispatch.example/hooks/email/ack?t=abc\"", mail.Html);
    }

    [Fact]
    public async Task Mail_in_quick_succession_shares_one_session_and_a_session_the_relay_closed_is_replaced_without_losing_a_message()
    {
        await using var server = await MailServer.StartAsync(secured: true, idleTimeout: TimeSpan.FromSeconds(1));
        await using var transport = Transport(Platform(server));

        // One connection, one TLS handshake, one login for a burst of messages.
        for (var i = 0; i < 3; i++)
            Assert.Equal(SendOutcome.Sent, (await transport.SendAsync(Message(), CancellationToken.None)).Outcome);
        Assert.Equal(3, server.Messages().Count);
        Assert.Equal(1, server.Sessions);
        Assert.All(server.Messages(), m => Assert.True(m.OverTls && m.AuthenticatedAs == MailServer.User));

        // The relay hangs up on the quiet session; the next message goes over a new one, once.
        await Wait.UntilAsync(() => Task.FromResult(server.SessionsEnded == 1), TimeSpan.FromSeconds(20));
        Assert.Equal(SendOutcome.Sent, (await transport.SendAsync(Message(), CancellationToken.None)).Outcome);
        Assert.Equal(4, server.Messages().Count);
        Assert.Equal(2, server.Sessions);
    }

    [Fact]
    public async Task A_channels_own_server_with_implicit_tls_and_its_own_credentials_is_used_instead_of_the_platforms()
    {
        await using var platform = await MailServer.StartAsync(secured: true);
        await using var own = await MailServer.StartAsync(secured: true, implicitTls: true);
        var channel = new JsonObject
        {
            ["smtpHost"] = "127.0.0.1", ["smtpPort"] = own.Port, ["implicitTls"] = true,
            ["username"] = MailServer.User, ["password"] = MailServer.Password, ["from"] = "alerts@gasco.example",
        };
        // The operator pinned the platform server's certificate only: the channel's server presents another.
        var options = Platform(platform);
        var refused = await Transport(options).SendAsync(Message(channel), CancellationToken.None);
        Assert.Equal(SendOutcome.Permanent, refused.Outcome);
        Assert.Contains("certificate is not trusted", refused.Error);
        Assert.Empty(own.Messages());

        options.TrustedCertificate = own.CertificatePem;
        var sent = await Transport(options).SendAsync(Message(channel), CancellationToken.None);
        Assert.Equal(SendOutcome.Sent, sent.Outcome);
        var mail = Assert.Single(own.Messages());
        Assert.True(mail.OverTls);
        Assert.Contains("alerts@gasco.example", mail.Raw);
        Assert.Empty(platform.Messages());
    }

    [Fact]
    public async Task A_password_is_never_sent_over_an_unencrypted_connection()
    {
        await using var plain = await MailServer.StartAsync();
        var options = Platform(plain);
        options.Username = "someone";
        options.Password = "a secret";

        var result = await Transport(options).SendAsync(Message(), CancellationToken.None);

        Assert.Equal(SendOutcome.Permanent, result.Outcome);
        Assert.Contains("unencrypted", result.Error);
        Assert.DoesNotContain("a secret", result.Error);
        Assert.Empty(plain.Messages());
    }

    [Fact]
    public async Task An_untrusted_certificate_or_a_refused_login_fails_the_channel_and_says_why()
    {
        await using var server = await MailServer.StartAsync(secured: true);

        var untrusted = await Transport(Platform(server, trust: false)).SendAsync(Message(), CancellationToken.None);
        Assert.Equal(SendOutcome.Permanent, untrusted.Outcome);
        Assert.Contains("certificate is not trusted", untrusted.Error);

        var options = Platform(server);
        options.Password = "wrong";
        var wrong = await Transport(options).SendAsync(Message(), CancellationToken.None);
        Assert.Equal(SendOutcome.Permanent, wrong.Outcome);
        Assert.Contains("authentication failed", wrong.Error);
        Assert.DoesNotContain("wrong", wrong.Error!.Replace("authentication failed", ""));

        var anonymous = await Transport(Platform(server, credentials: false)).SendAsync(Message(), CancellationToken.None);
        Assert.Equal(SendOutcome.Permanent, anonymous.Outcome); // 530: the relay takes mail only from a user it knows
        Assert.Empty(server.Messages());
    }

    [Fact]
    public async Task A_server_that_is_not_there_is_worth_another_try()
    {
        var options = new EmailOptions { SmtpHost = "127.0.0.1", SmtpPort = Dispatch.Testing.LoopbackPort.Free() };

        var result = await Transport(options).SendAsync(Message(), CancellationToken.None);

        Assert.Equal(SendOutcome.Transient, result.Outcome);
    }

    [Fact]
    public async Task A_channels_own_server_at_an_internal_address_is_refused_when_sending()
    {
        await using var server = await MailServer.StartAsync();
        var channel = new JsonObject { ["smtpHost"] = "127.0.0.1", ["smtpPort"] = server.Port };

        var result = await Transport(new EmailOptions(), new OutboundPolicy([], [], null)).SendAsync(Message(channel), CancellationToken.None);

        Assert.Equal(SendOutcome.Permanent, result.Outcome);
        Assert.Contains("internal address", result.Error);
        Assert.Empty(server.Messages());
    }

    [Fact]
    public async Task Without_a_server_the_message_lands_whole_in_the_pickup_folder()
    {
        var folder = Dispatch.Testing.TestRun.NewFolder("pickup-");
        try
        {
            var message = Message();
            var result = await Transport(new EmailOptions { PickupDirectory = folder }).SendAsync(message, CancellationToken.None);

            Assert.Equal(SendOutcome.Sent, result.Outcome);
            var file = Assert.Single(Directory.GetFiles(folder));
            Assert.EndsWith(".eml", file);
            var mail = MailServer.Mail.Parse(await File.ReadAllBytesAsync(file));
            Assert.Equal("[CRITICAL] Gas smell at school", mail.Subject);
            Assert.Equal(result.ExternalMessageId, mail.MessageId);
            Assert.Contains("https://dispatch.example/hooks/email/ack?t=abc", mail.Decoded);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task An_address_that_is_not_one_is_a_permanent_failure_not_an_exception()
    {
        var result = await Transport(new EmailOptions { PickupDirectory = "/nonexistent" }).SendAsync(Message(to: "not an address"), CancellationToken.None);

        Assert.Equal(SendOutcome.Permanent, result.Outcome);
    }
}
