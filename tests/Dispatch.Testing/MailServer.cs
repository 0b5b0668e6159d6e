using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MimeKit;
using SmtpServer;
using SmtpServer.Authentication;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace Dispatch.Testing;

/// <summary>
/// A real SMTP server (the SmtpServer library, in this process, on a loopback port) keeping every message it is sent, as
/// received, and how it came (over TLS or not, as which user). Hosts the tests start as processes reach it over TCP like any
/// mail relay. With <see cref="Secured"/> it offers STARTTLS with a self-signed certificate (<see cref="CertificatePem"/>, for
/// the hosts' <c>Dispatch:Email:TrustedCertificate</c>) and takes mail only from a client that authenticated over TLS.
/// </summary>
public sealed class MailServer : IAsyncDisposable
{
    private readonly SmtpServer.SmtpServer _server;
    private readonly Task _running;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<Mail> _received = new();
    private readonly string? _folder;

    public int Port { get; } = LoopbackPort.Free();

    /// <summary>The user and password a secured server takes; nobody else may send.</summary>
    public const string User = "dispatch-relay", Password = "relay password 7";

    /// <summary>The PEM file of a secured server's certificate.</summary>
    public string? CertificatePem { get; }

    private int _sessions, _sessionsEnded;

    /// <summary>SMTP sessions opened by clients so far, and of those, how many have ended.</summary>
    public int Sessions => Volatile.Read(ref _sessions);

    public int SessionsEnded => Volatile.Read(ref _sessionsEnded);

    private MailServer(bool secured, bool implicitTls, TimeSpan? idleTimeout)
    {
        ImplicitTls = secured && implicitTls;
        var endpoint = new EndpointDefinitionBuilder().Endpoint(new IPEndPoint(IPAddress.Loopback, Port));
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(new Keeper(_received));
        if (secured)
        {
            _folder = TestRun.NewFolder("smtp-");
            Directory.CreateDirectory(_folder);
            var certificate = SelfSigned();
            CertificatePem = Path.Combine(_folder, "smtp.pem");
            File.WriteAllText(CertificatePem, certificate.ExportCertificatePem());
            endpoint.Certificate(certificate).IsSecure(implicitTls).AllowUnsecureAuthentication(false).AuthenticationRequired(true);
            services.Add(new DelegatingUserAuthenticator((user, password) => user == User && password == Password));
        }
        var builder = new SmtpServerOptionsBuilder().ServerName("localhost").Endpoint(endpoint.Build());
        if (idleTimeout is { } idle) builder.CommandWaitTimeout(idle); // a relay that hangs up on a client gone quiet
        _server = new SmtpServer.SmtpServer(builder.Build(), services);
        _server.SessionCreated += (_, _) => Interlocked.Increment(ref _sessions);
        _server.SessionCompleted += (_, _) => Interlocked.Increment(ref _sessionsEnded);
        _server.SessionFaulted += (_, _) => Interlocked.Increment(ref _sessionsEnded);
        _running = _server.StartAsync(_stop.Token);
    }

    public bool Secured => CertificatePem is not null;

    public bool ImplicitTls { get; }

    /// <summary>
    /// A plain relay (no TLS, no authentication), or with <paramref name="secured"/> one that demands both: STARTTLS, or TLS from
    /// the first byte with <paramref name="implicitTls"/>; with <paramref name="idleTimeout"/> it ends a session in which no
    /// command came for that long.
    /// </summary>
    public static async Task<MailServer> StartAsync(bool secured = false, bool implicitTls = false, TimeSpan? idleTimeout = null)
    {
        var server = new MailServer(secured, implicitTls, idleTimeout);
        await Wait.UntilAsync(async () =>
        {
            if (server._running.IsFaulted) await server._running; // a bind failure, said as it is
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, server.Port);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(20), () => $"The SMTP server did not listen on port {server.Port}.");
        // That probe was a session too: once the server has seen it end, the counts start from nothing.
        await Wait.UntilAsync(() => Task.FromResult(server.SessionsEnded >= 1), TimeSpan.FromSeconds(20), () => "The SMTP server did not end the probe's session.");
        Interlocked.Exchange(ref server._sessions, 0);
        Interlocked.Exchange(ref server._sessionsEnded, 0);
        return server;
    }

    /// <summary>Settings that make a host send through this server.</summary>
    public Dictionary<string, string?> HostSettings() => new()
    {
        ["Dispatch:Email:SmtpHost"] = "127.0.0.1",
        ["Dispatch:Email:SmtpPort"] = Port.ToString(),
        ["Dispatch:Email:StartTls"] = Secured && !ImplicitTls ? "true" : null,
        ["Dispatch:Email:ImplicitTls"] = ImplicitTls ? "true" : null,
        ["Dispatch:Email:Username"] = Secured ? User : null,
        ["Dispatch:Email:Password"] = Secured ? Password : null,
        ["Dispatch:Email:TrustedCertificate"] = CertificatePem,
    };

    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null); // with its key usable by SslStream
    }

    private sealed class Keeper(ConcurrentQueue<Mail> received) : MessageStore
    {
        public override Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction,
            ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            var raw = buffer.ToArray();
            received.Enqueue(Mail.Parse(raw, context.Pipe.IsSecure, context.Authentication.IsAuthenticated ? context.Authentication.User : null) with { At = System.Diagnostics.Stopwatch.GetTimestamp() });
            return Task.FromResult(SmtpResponse.Ok);
        }
    }

    /// <summary>
    /// A message as received: its headers, its plain-text body as a mail reader shows it (lines end in \n), how it came, and when
    /// (a <see cref="System.Diagnostics.Stopwatch"/> timestamp; 0 for a message parsed from a file).
    /// </summary>
    public sealed record Mail(string To, string Subject, string MessageId, string DeliveryId, string Raw, string Decoded, string? Html,
        bool OverTls, string? AuthenticatedAs, long At = 0)
    {
        /// <summary>The bare address of <see cref="To"/> ("Name &lt;a@b&gt;" gives a@b).</summary>
        public string ToAddress => To.Contains('<') ? To[(To.IndexOf('<') + 1)..To.IndexOf('>')] : To;

        public static Mail Parse(byte[] raw, bool overTls = false, string? user = null)
        {
            using var stream = new MemoryStream(raw);
            var message = MimeMessage.Load(stream);
            return new Mail(message.To.ToString(), message.Subject ?? "", $"<{message.MessageId}>", message.Headers["X-Dispatch-Delivery"] ?? "",
                System.Text.Encoding.UTF8.GetString(raw), (message.TextBody ?? "").ReplaceLineEndings("\n"), message.HtmlBody, overTls, user);
        }
    }

    public IReadOnlyList<Mail> Messages() => _received.ToList();

    public async ValueTask DisposeAsync()
    {
        _server.Shutdown();
        await _stop.CancelAsync();
        try { await _running.WaitAsync(TimeSpan.FromSeconds(10)); }
        catch (OperationCanceledException) { }
        _stop.Dispose();
        if (_folder is not null) Directory.Delete(_folder, recursive: true);
    }
}
