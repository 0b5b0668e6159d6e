using System.Security.Claims;
using System.Text.Json.Nodes;
using Dispatch.Api.Auth;
using Dispatch.Api.Http;
using Dispatch.Grains.Agencies;
using Dispatch.Grains.Identity;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Routing;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Transports;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Dispatch.Api.Transports;

public static class TransportsApi
{
    public static IEndpointRouteBuilder MapTransportsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/transport-types", TypesAsync).WithTags("Transports").WithName("ListTransportTypes")
            .WithSummary("The transport catalog with each type's channel configuration schema.").RequirePermission(Permissions.AgenciesRead);

        var channels = app.MapGroup("/api/v1/transport-channels").WithTags("Transports");
        channels.MapGet("/", ListChannelsAsync).WithName("ListTransportChannels").WithSummary("The company's channels (secrets redacted).")
            .RequirePermission(Permissions.TransportChannelsManage);
        channels.MapGet("/{id:guid}", GetChannelAsync).WithName("GetTransportChannel").WithSummary("One channel (secrets redacted).")
            .RequirePermission(Permissions.TransportChannelsManage);
        channels.MapPost("/", CreateChannelAsync).WithName("CreateTransportChannel").WithSummary("A channel; its config is checked against its type's schema.")
            .RequirePermission(Permissions.TransportChannelsManage);
        channels.MapPatch("/{id:guid}", UpdateChannelAsync).WithName("UpdateTransportChannel")
            .WithSummary("Rename, reconfigure (secrets sent as [redacted] are kept) or deactivate a channel.")
            .RequirePermission(Permissions.TransportChannelsManage);

        var rules = app.MapGroup("/api/v1/notification-rules").WithTags("Transports");
        rules.MapGet("/", ListRulesAsync).WithName("ListNotificationRules").WithSummary("Which channels serve which incidents, and when.")
            .RequirePermission(Permissions.NotificationRulesManage);
        rules.MapPost("/", CreateRuleAsync).WithName("CreateNotificationRule").WithSummary("A rule selecting a channel by priority, type and time window.")
            .RequirePermission(Permissions.NotificationRulesManage);
        rules.MapPut("/{id:guid}", ReplaceRuleAsync).WithName("ReplaceNotificationRule").WithSummary("Replace a rule.")
            .RequirePermission(Permissions.NotificationRulesManage);
        rules.MapDelete("/{id:guid}", DeleteRuleAsync).WithName("DeleteNotificationRule").WithSummary("Delete a rule.")
            .RequirePermission(Permissions.NotificationRulesManage);

        var preferences = app.MapGroup("/api/v1/users/{id:guid}/transport-preferences").WithTags("Transports");
        preferences.MapGet("/", GetPreferencesAsync).WithName("GetTransportPreferences")
            .WithSummary("A user's channels in order, with delivery mode and personal addresses (their own, or any in the agency for an admin).")
            .RequirePermission(Permissions.PreferencesManageOwn);
        preferences.MapPut("/", ReplacePreferencesAsync).WithName("ReplaceTransportPreferences").WithSummary("Replace a user's preferences.")
            .RequirePermission(Permissions.PreferencesManageOwn);
        return app;
    }

    public static async Task<Results<Ok<Page<TransportType>>, ValidationProblem>> TypesAsync(int? page, int? pageSize, ClaimsPrincipal caller, DispatchStore store)
    {
        if (!Paging.TryCreate(page, pageSize, out var paging, out var errors)) return TypedResults.ValidationProblem(errors);
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        return TypedResults.Ok(paging.Of(await TransportConfiguration.TypesAsync(scope)));
    }

    public static async Task<Results<Ok<Page<TransportChannel>>, ValidationProblem>> ListChannelsAsync(int? page, int? pageSize, ClaimsPrincipal caller, DispatchStore store)
    {
        if (!Paging.TryCreate(page, pageSize, out var paging, out var errors)) return TypedResults.ValidationProblem(errors);
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        return TypedResults.Ok(paging.Of(await TransportConfiguration.ChannelsAsync(scope)));
    }

    public static async Task<Results<Ok<TransportChannel>, NotFound>> GetChannelAsync(Guid id, ClaimsPrincipal caller, DispatchStore store)
    {
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        return await TransportConfiguration.ChannelAsync(scope, id) is { } channel ? TypedResults.Ok(channel) : TypedResults.NotFound();
    }

    public static async Task<Results<Created<TransportChannel>, ValidationProblem>> CreateChannelAsync(
        ChannelRequest request, ClaimsPrincipal caller, IClusterClient grains, OutboundPolicy outbound)
    {
        if (request.Validate(creating: true) is { Any: true } errors) return TypedResults.ValidationProblem(errors.ToDictionary());
        if (await ChannelConfig.CheckDestinationsAsync(outbound, request.TransportType!, request.Config) is { Count: > 0 } refused)
            return TypedResults.ValidationProblem(refused);
        var context = caller.ToAgencyContext();
        var result = await grains.GetGrain<IAgencyGrain>(context.AgencyId).CreateChannelAsync(context,
            new ChannelDraft(request.TransportType!, request.Name!.Trim(), request.Config ?? new System.Text.Json.Nodes.JsonObject()));
        return TypedResults.Created($"/api/v1/transport-channels/{result.Value!.Id}", result.Value);
    }

    public static async Task<Results<Ok<TransportChannel>, NotFound, ValidationProblem>> UpdateChannelAsync(
        Guid id, ChannelRequest request, ClaimsPrincipal caller, DispatchStore store, IClusterClient grains, OutboundPolicy outbound)
    {
        if (request.Validate(creating: false) is { Any: true } errors) return TypedResults.ValidationProblem(errors.ToDictionary());
        var context = caller.ToAgencyContext();
        // Destinations are checked here, by the Api's policy; the grain checks the merged configuration (stored secrets kept) again.
        if (request.Config is not null)
        {
            await using var scope = await store.BeginAsync(context);
            if (await TransportConfiguration.ChannelAsync(scope, id) is not { } stored) return TypedResults.NotFound();
            if (await RefusedDestinationsAsync(outbound, stored.TransportTypeSlug, request.Config) is { Count: > 0 } refused)
                return TypedResults.ValidationProblem(refused);
        }
        var result = await grains.GetGrain<IAgencyGrain>(context.AgencyId).UpdateChannelAsync(context, id,
            new ChannelChanges(request.Name?.Trim(), request.Config, request.IsActive));
        return result.Outcome switch
        {
            CommandOutcome.NotFound => TypedResults.NotFound(),
            CommandOutcome.Invalid => TypedResults.ValidationProblem(result.Errors!),
            _ => TypedResults.Ok(result.Value!),
        };
    }

    // A malformed change is not refused here: the grain's validation of the merged configuration names its fields.
    private static async Task<Dictionary<string, string[]>> RefusedDestinationsAsync(OutboundPolicy outbound, string slug, JsonObject config)
    {
        try
        {
            return await ChannelConfig.CheckDestinationsAsync(outbound, slug, config);
        }
        catch (System.Text.Json.JsonException)
        {
            return [];
        }
    }

    public static async Task<Results<Ok<Page<NotificationRule>>, ValidationProblem>> ListRulesAsync(int? page, int? pageSize, ClaimsPrincipal caller, DispatchStore store)
    {
        if (!Paging.TryCreate(page, pageSize, out var paging, out var errors)) return TypedResults.ValidationProblem(errors);
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        return TypedResults.Ok(paging.Of(await TransportConfiguration.RulesAsync(scope)));
    }

    public static Task<Results<Created<NotificationRule>, Ok<NotificationRule>, NotFound, ValidationProblem, ProblemHttpResult>> CreateRuleAsync(
        RuleRequest request, ClaimsPrincipal caller, DispatchStore store, IClusterClient grains) => SaveRuleAsync(null, request, caller, store, grains);

    public static Task<Results<Created<NotificationRule>, Ok<NotificationRule>, NotFound, ValidationProblem, ProblemHttpResult>> ReplaceRuleAsync(
        Guid id, RuleRequest request, ClaimsPrincipal caller, DispatchStore store, IClusterClient grains) => SaveRuleAsync(id, request, caller, store, grains);

    private static async Task<Results<Created<NotificationRule>, Ok<NotificationRule>, NotFound, ValidationProblem, ProblemHttpResult>> SaveRuleAsync(
        Guid? id, RuleRequest request, ClaimsPrincipal caller, DispatchStore store, IClusterClient grains)
    {
        var context = caller.ToAgencyContext();
        if (id is not null)
        {
            await using var scope = await store.BeginAsync(context);
            if (await TransportConfiguration.RuleAsync(scope, id.Value) is null) return TypedResults.NotFound();
        }
        if (request.Validate(out var start, out var end) is { Any: true } errors) return TypedResults.ValidationProblem(errors.ToDictionary());
        var result = await grains.GetGrain<IAgencyGrain>(context.AgencyId).SaveNotificationRuleAsync(context, id, new NotificationRuleChanges(
            request.TransportChannelId!.Value, request.PriorityFilter is { Length: > 0 } p ? p : null, request.TypeFilter is { Length: > 0 } t ? t : null,
            start, end, request.IsActive ?? true));
        return ConfigurationAnswers.Saved(result, id is null ? rule => $"/api/v1/notification-rules/{rule.Id}" : null);
    }

    public static async Task<Results<NoContent, NotFound>> DeleteRuleAsync(Guid id, ClaimsPrincipal caller, IClusterClient grains)
    {
        var context = caller.ToAgencyContext();
        var result = await grains.GetGrain<IAgencyGrain>(context.AgencyId).DeleteNotificationRuleAsync(context, id);
        return result.Outcome == CommandOutcome.Done ? TypedResults.NoContent() : TypedResults.NotFound();
    }

    public static async Task<Results<Ok<IReadOnlyList<TransportPreference>>, NotFound>> GetPreferencesAsync(
        Guid id, ClaimsPrincipal caller, DispatchStore store)
    {
        await using var scope = await store.BeginAsync(caller.ToAgencyContext());
        if (!await MayManageAsync(scope, caller, id)) return TypedResults.NotFound();
        return TypedResults.Ok(await TransportConfiguration.PreferencesAsync(scope, id));
    }

    public static async Task<Results<Ok<IReadOnlyList<TransportPreference>>, NotFound, ValidationProblem>> ReplacePreferencesAsync(
        Guid id, PreferencesRequest request, ClaimsPrincipal caller, DispatchStore store, IClusterClient grains, OutboundPolicy outbound)
    {
        var context = caller.ToAgencyContext();
        Dictionary<Guid, string> channels;
        await using (var scope = await store.BeginAsync(context))
        {
            if (!await MayManageAsync(scope, caller, id)) return TypedResults.NotFound();
            channels = (await TransportConfiguration.ChannelsAsync(scope)).ToDictionary(c => c.Id, c => c.TransportTypeSlug);
        }
        if (request.Validate(channels) is { Any: true } errors) return TypedResults.ValidationProblem(errors.ToDictionary());
        foreach (var (p, i) in request.Preferences!.Select((p, i) => (p, i)))
            if (await ChannelConfig.CheckDestinationsAsync(outbound, channels[p.TransportChannelId!.Value], p.ConfigOverride, $"preferences[{i}].configOverride")
                is { Count: > 0 } refused)
                return TypedResults.ValidationProblem(refused);
        var items = request.Preferences!.Select((p, i) =>
            new PreferenceChange(p.TransportChannelId!.Value, p.PriorityOrder ?? i + 1, p.DeliveryMode ?? Router.AllAtOnce, p.ConfigOverride)).ToList();
        var result = await grains.GetGrain<IAgencyGrain>(context.AgencyId).ReplacePreferencesAsync(context, id, items);
        return result.Outcome == CommandOutcome.Done ? TypedResults.Ok(result.Value!) : TypedResults.NotFound();
    }

    // One's own preferences, or anyone's in the agency for a user manager.
    private static async Task<bool> MayManageAsync(AgencyScope scope, ClaimsPrincipal caller, Guid userId) =>
        (caller.UserId() == userId || caller.Permissions().Contains(Permissions.UsersManage)) && await Users.GetAsync(scope, userId) is not null;
}
