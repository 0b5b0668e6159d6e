using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Dispatch.Grains.Transports.Webhook;

/// <summary>
/// POSTs the incident as JSON, signed: <c>X-Dispatch-Signature: v1=hex(HMAC-SHA256(secret, timestamp + "." + body))</c>
/// with <c>X-Dispatch-Timestamp</c> (unix seconds). 2xx is sent; 4xx (but 408 and 429) permanent; 5xx, timeouts and
/// network errors transient.
/// </summary>
public sealed class WebhookTransport(HttpClient http, TimeProvider time) : ITransport
{
    public string Slug => TransportSlug.Webhook;

    public async Task<SendResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        var channel = ChannelConfig.Read<ChannelConfig.Webhook>(message.ChannelConfig);
        var personal = ChannelConfig.Read<ChannelConfig.Webhook>(message.RecipientOverride);
        var url = personal.Url ?? channel.Url;
        if (url is null || channel.Secret is null) return SendResult.Permanent("The webhook channel has no url or secret.");

        var body = JsonSerializer.Serialize(new
        {
            deliveryId = message.DeliveryId,
            attempt = message.Attempt,
            notificationId = message.NotificationId,
            recipient = new { name = message.RecipientName, email = message.RecipientEmail },
            incident = message.IncidentId is not { } incidentId ? null
                : new { id = incidentId, priority = message.Priority, title = message.Title, description = message.Description, address = message.Address },
            ackUrl = message.AckUrl,
            // A PSAP alert: which company, why, and its people with the channels tried; the link records that the alert was seen.
            kind = message.Heartbeat is not null ? "heartbeat" : message.Alert is null ? "company" : "psap_alert",
            // A heartbeat alert: a command connection went silent, or is heard from again; nothing to acknowledge.
            heartbeat = message.Heartbeat is not { } heartbeat ? null : new
            {
                connectionId = heartbeat.ConnectionId, connectionName = heartbeat.ConnectionName,
                status = heartbeat.Recovered ? "recovered" : "silent", intervalSeconds = heartbeat.IntervalSeconds,
                silentSince = heartbeat.SilentSince, at = heartbeat.At, title = message.Title, description = message.Description,
            },
            alert = message.Alert is not { } alert ? null : new
            {
                companyId = alert.CompanyId, companyName = alert.CompanyName, reason = alert.Reason, tiersTried = alert.TiersTried,
                contacts = alert.Contacts.Select(c => new
                {
                    tier = c.Tier + 1, name = c.Name, email = c.Email, acknowledged = c.Acknowledged,
                    channels = c.Channels.Select(ch => new { channel = ch.Channel, transport = ch.Transport, status = ch.Status }),
                }),
            },
        }, JsonSerializerOptions.Web);
        using var request = SignedPost(new Uri(url, UriKind.RelativeOrAbsolute), channel.Secret, body, time.GetUtcNow());
        request.Headers.Add("Idempotency-Key", message.IdempotencyKey.ToString());

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(channel.TimeoutSeconds ?? 10));
        try
        {
            using var response = await http.SendAsync(request, timeout.Token);
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
                return SendResult.Sent(response.Headers.TryGetValues("X-Message-Id", out var ids) ? ids.FirstOrDefault() : null);
            // The host only: a URL's path and query often carry tokens, and the receiver's body is its own business.
            var error = $"HTTP {status} from the receiver at {request.RequestUri!.IdnHost}";
            return status is >= 400 and < 500 && response.StatusCode is not HttpStatusCode.RequestTimeout and not HttpStatusCode.TooManyRequests
                ? SendResult.Permanent(error)
                : SendResult.Transient(error);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return SendResult.Transient($"No answer within {channel.TimeoutSeconds ?? 10} s");
        }
        catch (HttpRequestException e) when ((e as OutboundRefusedException ?? e.InnerException as OutboundRefusedException) is { } refused)
        {
            return SendResult.Permanent($"Destination refused: {refused.Message}");
        }
        catch (HttpRequestException e)
        {
            return SendResult.Transient($"Webhook at {request.RequestUri!.IdnHost} unreachable ({e.HttpRequestError})");
        }
    }

    /// <summary>A JSON POST of <paramref name="body"/> with <c>X-Dispatch-Timestamp</c> and its <c>X-Dispatch-Signature</c> (webhooks and command callbacks alike).</summary>
    public static HttpRequestMessage SignedPost(Uri url, string secret, string body, DateTimeOffset now)
    {
        var timestamp = now.ToUnixTimeSeconds().ToString();
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Dispatch-Timestamp", timestamp);
        request.Headers.Add("X-Dispatch-Signature", "v1=" + Sign(secret, timestamp, body));
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("Dispatch", "1"));
        return request;
    }

    public static string Sign(string secret, string timestamp, string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.{body}")));
}
