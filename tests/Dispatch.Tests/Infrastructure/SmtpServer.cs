using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Dispatch.Tests.Infrastructure;

/// <summary>A real SMTP server process (Debian's python3-aiosmtpd) delivering into a maildir the test reads.</summary>
public sealed partial class SmtpServer : IAsyncDisposable
{
    private readonly ExternalProcess _process;
    private readonly string _maildir = Path.Combine(Path.GetTempPath(), "dispatch-mail-" + Guid.NewGuid().ToString("N")[..8]);

    public int Port { get; } = Dispatch.Testing.LoopbackPort.Free();

    private SmtpServer()
    {
        _process = new ExternalProcess("/usr/bin/python3",
            ["-m", "aiosmtpd", "-n", "-l", $"127.0.0.1:{Port}", "-c", "aiosmtpd.handlers.Mailbox", _maildir]);
    }

    public static async Task<SmtpServer> StartAsync()
    {
        var server = new SmtpServer();
        await Wait.UntilAsync(async () =>
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", server.Port);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(20), () => "aiosmtpd did not listen: " + server._process.Output);
        return server;
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

    public IReadOnlyList<Mail> Messages()
    {
        var dir = Path.Combine(_maildir, "new");
        if (!Directory.Exists(dir)) return [];
        return Directory.GetFiles(dir).Select(f => Parse(File.ReadAllText(f))).ToList();
    }

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
        await _process.DisposeAsync();
        try { Directory.Delete(_maildir, true); } catch (IOException) { }
    }
}
