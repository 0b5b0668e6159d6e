using FastEndpoints;

namespace Dispatch.Api.Notifications.Telegram;

/// <summary>Telegram's updates to the platform's bot: believed only with the webhook's secret token, answered 200 so Telegram moves on.</summary>
public sealed class TelegramUpdates(IClusterClient grains, IConfiguration configuration) : EndpointWithoutRequest<IResult>
{
    public const int MaxUpdateBytes = 1 << 20;

    public override void Configure()
    {
        Post("/hooks/telegram");
        AllowAnonymous();
        Description(d => d.WithTags("Inbound hooks").ExcludeFromDescription());
    }

    public override async Task<IResult> ExecuteAsync(CancellationToken ct)
    {
        var expected = configuration[$"{Dispatch.Grains.Transports.Telegram.TelegramOptions.Section}:WebhookSecret"];
        var given = HttpContext.Request.Headers["X-Telegram-Bot-Api-Secret-Token"].ToString();
        if (string.IsNullOrEmpty(expected) || !System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.UTF8.GetBytes(given), System.Text.Encoding.UTF8.GetBytes(expected)))
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden",
                detail: "The request does not carry the webhook's X-Telegram-Bot-Api-Secret-Token.");
        // An update is small: the body is refused past 1 MB rather than read into memory whatever its size.
        if (HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = MaxUpdateBytes;
        string? update = null; // null: Kestrel refused the body at the limit
        try
        {
            using var reader = new StreamReader(HttpContext.Request.Body);
            update = await reader.ReadToEndAsync(ct);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
        }
        if (update is null || update.Length > MaxUpdateBytes) // also when the input guard had buffered the body before the limit could be set
            return TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Payload too large", detail: "An update is at most 1 MB.");
        await grains.GetGrain<Dispatch.Grains.Transports.Telegram.ITelegramInboxGrain>(0).UpdateAsync(update);
        return TypedResults.Ok();
    }
}
