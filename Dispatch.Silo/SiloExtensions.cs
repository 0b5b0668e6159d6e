using Dispatch.Grains.Agencies;
using Dispatch.Grains.Notifications;
using Dispatch.Grains.Routing;
using Dispatch.Grains.Transports;
using Dispatch.Grains.Transports.Email;
using Dispatch.Grains.Transports.Sms;
using Dispatch.Grains.Transports.Telegram;
using Dispatch.Grains.Transports.Webhook;
using Dispatch.Grains.Commands;
using Dispatch.Silo.Recovery;

namespace Dispatch.Silo;

public static class SiloExtensions
{
    /// <summary>What the grains need (transports, options, HTTP clients) and the recovery of work whose silo died.</summary>
    public static IServiceCollection AddDispatchEngine(this IServiceCollection services)
    {
        services.AddSingleton<IAgencyRouting, AgencyGrainRouting>(); // routing from the agencies' grains, not a read per incident
        services.AddOptions<DeliveryOptions>().BindConfiguration(DeliveryOptions.Section);
        services.AddSingleton<Dispatch.Grains.Storage.IDeliveryClaimant, LocalSiloClaimant>(); // transactions claim what they queue for this silo
        services.AddOptions<EmailOptions>().BindConfiguration(EmailOptions.Section);
        services.AddSingleton<ITransport, EmailTransport>();
        // Twilio's own address (or a test's), reached directly: an operator's setting, not an agency admin's.
        services.AddOptions<TwilioOptions>().BindConfiguration(TwilioOptions.Section)
            .Configure<IConfiguration>((o, c) => o.PublicUrl ??= Uri.TryCreate(c["Dispatch:PublicUrl"], UriKind.Absolute, out var u) ? u : null);
        services.AddTransient<TwilioBaseAddress>();
        services.AddHttpClient(TwilioOptions.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(30)).AddHttpMessageHandler<TwilioBaseAddress>()
            .RemoveAllLoggers(); // its lines would carry account SIDs and phone numbers
        services.AddSingleton<ITransport, SmsTransport>();
        services.AddSingleton<ITransport, VoiceTransport>();
        services.AddOptions<TelegramOptions>().BindConfiguration(TelegramOptions.Section);
        services.AddHttpClient(TelegramOptions.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(30))
            .RemoveAllLoggers(); // the Bot API's URLs carry the bot token
        services.AddSingleton<ITransport, TelegramTransport>();
        services.AddSingleton(sp => OutboundPolicy.FromConfiguration(sp.GetRequiredService<IConfiguration>(), sp.GetRequiredService<IHostEnvironment>().IsDevelopment()));
        // No HttpClient logging: its lines carry full URLs, whose paths and queries often hold receivers' tokens.
        services.AddHttpClient<WebhookTransport>().ConfigurePrimaryHttpMessageHandler(sp => sp.GetRequiredService<OutboundPolicy>().CreateHandler())
            .RemoveAllLoggers();
        services.AddSingleton<ITransport>(sp => sp.GetRequiredService<WebhookTransport>());
        services.AddSingleton(sp => new AckLinkFactory(AckLinks.FromConfiguration(sp.GetRequiredService<IConfiguration>())));

        services.AddOptions<CallbackOptions>().BindConfiguration(CallbackOptions.Section);
        services.AddOptions<HeartbeatOptions>().BindConfiguration(HeartbeatOptions.Section);
        services.AddOptions<Grains.Eido.EidoOptions>().BindConfiguration(Grains.Eido.EidoOptions.Section);
        services.AddHttpClient(CommandConnectionGrain.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(sp => sp.GetRequiredService<OutboundPolicy>().CreateHandler()).RemoveAllLoggers();

        services.AddSingleton(sp => Dispatch.Grains.Cfs.CfsInboxRoot.FromConfiguration(sp.GetRequiredService<IConfiguration>()));

        // Work that a dead silo's grains held, or that a killed process never handed over: one recovery path.
        services.AddOptions<RecoveryOptions>().BindConfiguration(RecoveryOptions.Section);
        services.AddHostedService<WorkRecovery>();
        return services;
    }
}
