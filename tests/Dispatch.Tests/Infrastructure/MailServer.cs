using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using SmtpServer;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace Dispatch.Tests.Infrastructure;

/// <summary>
/// A real SMTP server (the SmtpServer library, in this process, on a loopback port) keeping every message it is sent, as
/// received. Hosts the tests start as processes reach it over TCP like any mail relay.
/// </summary>
public sealed partial class MailServer : IAsyncDisposable
{
    private readonly SmtpServer.SmtpServer _server;
    private readonly Task _running;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<string> _received = new();

    public int Port { get; } = Dispatch.Testing.LoopbackPort.Free();

    private MailServer()
    {
        var options = new SmtpServerOptionsBuilder()
            .ServerName("localhost")
            .Endpoint(e => e.Endpoint(new IPEndPoint(IPAddress.Loopback, Port)))
            .Build();
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(new Keeper(_received));
        _server = new SmtpServer.SmtpServer(options, services);
        _running = _server.StartAsync(_stop.Token);
    }

    public static async Task<MailServer> StartAsync()
    {
        var server = new MailServer();
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
        return server;
    }

    private sealed class Keeper(ConcurrentQueue<string> received) : MessageStore
    {
        public override Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction,
            ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            received.Enqueue(Encoding.UTF8.GetString(buffer.ToArray()));
            return Task.FromResult(SmtpResponse.Ok);
        }
    }

    public sealed record Mail(string To, string Subject, string MessageId, string DeliveryId, string Raw)
    {
        /// <summary>The bare address of <see cref="To"/> ("Name &lt;a@b&gt;" gives a@b).</summary>
        public string ToAddress => To.Contains('<') ? To[(To.IndexOf('<') + 1)..To.IndexOf('>')] : To;

        /// <summary>The message with quoted-printable undone, as a mail reader shows it.</summary>
        public string Decoded
        {
            get
            {
                var unwrapped = Raw.Replace("=\n", "");
                var bytes = new List<byte>();
                for (var i = 0; i < unwrapped.Length; i++)
                {
                    if (unwrapped[i] == '=' && i + 2 < unwrapped.Length && Uri.IsHexDigit(unwrapped[i + 1]) && Uri.IsHexDigit(unwrapped[i + 2]))
                    {
                        bytes.Add(Convert.ToByte(unwrapped.Substring(i + 1, 2), 16));
                        i += 2;
                    }
                    else bytes.AddRange(Encoding.UTF8.GetBytes(unwrapped[i].ToString()));
                }
                return Encoding.UTF8.GetString(bytes.ToArray());
            }
        }
    }

    public IReadOnlyList<Mail> Messages() => _received.Select(Parse).ToList();

    private static Mail Parse(string raw)
    {
        raw = raw.Replace("\r\n", "\n");
        var end = raw.IndexOf("\n\n", StringComparison.Ordinal);
        var headers = end > 0 ? raw[..end] : raw;
        string Header(string name) => Regex.Match(headers, $@"^{name}:\s*(.*(?:\n[ \t].*)*)", RegexOptions.Multiline | RegexOptions.IgnoreCase)
            .Groups[1].Value.Replace("\n", "").Trim();
        return new Mail(Header("To"), DecodeWords(Header("Subject")), Header("Message-ID"), Header("X-Dispatch-Delivery"), raw);
    }

    // RFC 2047 encoded words, as System.Net.Mail writes a UTF-8 subject.
    private static string DecodeWords(string value) => EncodedWord().Replace(value, m =>
    {
        var bytes = m.Groups[2].Value.Equals("B", StringComparison.OrdinalIgnoreCase)
            ? Convert.FromBase64String(m.Groups[3].Value)
            : Encoding.Latin1.GetBytes(Regex.Replace(m.Groups[3].Value.Replace('_', ' '), "=([0-9A-F]{2})",
                h => ((char)Convert.ToByte(h.Groups[1].Value, 16)).ToString()));
        return Encoding.GetEncoding(m.Groups[1].Value).GetString(bytes);
    }).Replace("?= =?", "");

    [GeneratedRegex(@"=\?([^?]+)\?([BbQq])\?([^?]*)\?=\s*")]
    private static partial Regex EncodedWord();

    public async ValueTask DisposeAsync()
    {
        _server.Shutdown();
        await _stop.CancelAsync();
        try { await _running.WaitAsync(TimeSpan.FromSeconds(10)); }
        catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}
