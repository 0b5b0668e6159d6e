using Dispatch.Grains.Transports;
using Dispatch.Grains.Transports.Telegram;
using FastEndpoints;

namespace Dispatch.Api.Transports.TelegramLink;

public sealed class TelegramLinkRequest
{
    public Guid Id { get; set; }
    public Guid? TransportChannelId { get; set; }
}

public sealed record TelegramLinkResponse(Uri Url, DateTimeOffset ExpiresAt);

/// <summary>
/// A one-time link that connects the caller's Telegram chat to one of their agency's Telegram channels: opening it starts the
/// platform's bot with the token (<c>/start &lt;token&gt;</c>), and the chat becomes the caller's preference for that channel.
/// Only for oneself: whoever opens the link is who receives the alerts.
/// </summary>
public sealed class CreateTelegramLink(DispatchStore store, IConfiguration configuration, TimeProvider time)
    : Endpoint<TelegramLinkRequest, Results<Created<TelegramLinkResponse>, NotFound, ValidationProblem, ProblemHttpResult>>
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(15);

    public override void Configure()
    {
        Post("/api/v1/users/{id:guid}/telegram-link");
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.PreferencesManageOwn));
        Description(d => d.WithTags("Transports").WithName("CreateTelegramLink")
            .WithSummary("A one-time link (15 minutes) that connects your Telegram chat to a Telegram channel of your agency."));
    }

    public override async Task<Results<Created<TelegramLinkResponse>, NotFound, ValidationProblem, ProblemHttpResult>> ExecuteAsync(
        TelegramLinkRequest request, CancellationToken ct)
    {
        if (User.UserId() != request.Id) return TypedResults.NotFound(); // nobody links a chat for someone else
        if (configuration[$"{TelegramOptions.Section}:BotUsername"] is not { Length: > 0 } bot)
            return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Telegram is not set up",
                detail: $"This Dispatch has no Telegram bot ({TelegramOptions.Section}:BotUsername and BotToken).");
        var token = Dispatch.Grains.Identity.Secrets.NewToken(); // 256 bits, base64url: what a /start parameter may hold
        var expiresAt = time.GetUtcNow() + Lifetime;
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        var channel = request.TransportChannelId is { } id ? await TransportConfiguration.ChannelAsync(scope, id) : null;
        if (channel is not { TransportTypeSlug: TransportSlug.Telegram, IsActive: true })
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["transportChannelId"] = ["must be an active Telegram channel of your agency."] });
        await scope.ExecuteAsync("""
            insert into telegram_link_tokens (agency_id, user_id, transport_channel_id, token_hash, expires_at)
            values (@agency, @user, @channel, @hash, @expiresAt)
            """, new { agency = scope.Context.AgencyId, user = request.Id, channel = channel.Id, hash = TelegramLinks.Hash(token), expiresAt });
        await scope.CommitAsync();
        return TypedResults.Created((string?)null, new TelegramLinkResponse(new Uri($"https://t.me/{bot}?start={token}"), expiresAt));
    }
}
