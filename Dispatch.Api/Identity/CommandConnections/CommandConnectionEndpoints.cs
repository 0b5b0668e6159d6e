using Dispatch.Grains.Transports;
using FastEndpoints;
using FluentValidation;

namespace Dispatch.Api.Identity.CommandConnections;

/// <summary><c>/api/v1/command-connections</c>: the PSAP's CAD systems and how acknowledgements reach them.</summary>
public sealed class CommandConnectionsGroup : Group
{
    public CommandConnectionsGroup() => Configure("/api/v1/command-connections", ep => ep.Description(d => d.WithTags("Command connections")));
}

public class CommandConnectionRequest
{
    public string? Name { get; set; }
    public string? AckMode { get; set; }
    public string? PublicUrl { get; set; }

    /// <summary>How often the CAD system promises to be heard from (5 s to a day); 0 turns the watch off.</summary>
    public int? HeartbeatIntervalSeconds { get; set; }

    /// <summary>The PSAP's own users alerted when it goes silent and when it is heard from again.</summary>
    public IReadOnlyList<Guid>? NotifyPsapUserIds { get; set; }

    public HeartbeatSettings Heartbeat => new(HeartbeatIntervalSeconds, NotifyPsapUserIds);

    /// <summary>Every user named is an active user of the caller's PSAP.</summary>
    public async Task<Dictionary<string, string[]>> UserErrorsAsync(AgencyScope scope) =>
        NotifyPsapUserIds is { Count: > 0 } ids && await Grains.Identity.CommandConnections.CountOwnUsersAsync(scope, ids) != ids.Distinct().Count()
            ? new() { ["notifyPsapUserIds"] = ["Every user must be an active user of your PSAP."] }
            : [];

    /// <summary>An absolute https URL (or http on loopback in development) without credentials, and a destination the policy allows.</summary>
    public async Task<Dictionary<string, string[]>> UrlErrorsAsync(bool development, OutboundPolicy outbound) =>
        PublicUrl is not null && await DestinationUrls.ErrorAsync("publicUrl", PublicUrl, Uri.UriSchemeHttps, Uri.UriSchemeHttp, development, outbound) is { } error
            ? new() { ["publicUrl"] = [error] }
            : [];
}

public sealed class UpdateConnectionRequest : CommandConnectionRequest
{
    public Guid Id { get; set; }
}

public sealed class CreateConnectionValidator : Validator<CommandConnectionRequest>
{
    public CreateConnectionValidator()
    {
        RuleFor(r => r.Name).Must(n => !string.IsNullOrWhiteSpace(n)).WithMessage("name is required.");
        RuleFor(r => r.AckMode).Must(m => m is null || Grains.Identity.AckMode.IsValid(m)).WithMessage("ackMode is poll or callback.");
        RuleFor(r => r.PublicUrl).Must((r, url) => r.AckMode != Grains.Identity.AckMode.Callback || url is not null)
            .WithMessage("publicUrl is required for callbacks.");
        this.HeartbeatRules();
    }
}

public sealed class UpdateConnectionValidator : Validator<UpdateConnectionRequest>
{
    public UpdateConnectionValidator()
    {
        RuleFor(r => r.AckMode).Must(m => m is null || Grains.Identity.AckMode.IsValid(m)).WithMessage("ackMode is poll or callback.");
        this.HeartbeatRules();
    }
}

internal static class HeartbeatValidation
{
    public static void HeartbeatRules<T>(this AbstractValidator<T> validator) where T : CommandConnectionRequest
    {
        validator.RuleFor(r => r.HeartbeatIntervalSeconds).Must(s => s is null or 0 or (>= 5 and <= 86400))
            .WithMessage("heartbeatIntervalSeconds is between 5 and 86400 (a day), or 0 to stop watching.");
        validator.RuleFor(r => r.NotifyPsapUserIds).AtMost("notifyPsapUserIds");
    }
}

/// <summary>The only response that ever holds the connection's key and callback secret.</summary>
public sealed record CreatedCommandConnection(CommandConnection Connection, string ApiKey, string CallbackSecret);

public sealed class ListCommandConnections(DispatchStore store) : Endpoint<PageRequest, Ok<Page<CommandConnection>>>
{
    public override void Configure()
    {
        Get("/");
        Group<CommandConnectionsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CommandConnectionsManage));
        Description(d => d.WithName("ListCommandConnections").WithSummary("The PSAP's CAD system connections."));
    }

    public override async Task<Ok<Page<CommandConnection>>> ExecuteAsync(PageRequest request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        return TypedResults.Ok(request.ToPaging().Of(await Grains.Identity.CommandConnections.ListAsync(scope)));
    }
}

public sealed class GetCommandConnection(DispatchStore store) : Endpoint<IdRoute, Results<Ok<CommandConnection>, NotFound>>
{
    public override void Configure()
    {
        Get("/{id:guid}");
        Group<CommandConnectionsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CommandConnectionsManage));
        Description(d => d.WithName("GetCommandConnection").WithSummary("One connection."));
    }

    public override async Task<Results<Ok<CommandConnection>, NotFound>> ExecuteAsync(IdRoute request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        return await Grains.Identity.CommandConnections.GetAsync(scope, request.Id) is { } c ? TypedResults.Ok(c) : TypedResults.NotFound();
    }
}

public sealed class CreateCommandConnection(DispatchStore store, IClusterClient grains, TimeProvider time, IHostEnvironment environment, OutboundPolicy outbound)
    : Endpoint<CommandConnectionRequest, Results<Created<CreatedCommandConnection>, ValidationProblem>>
{
    public override void Configure()
    {
        Post("/");
        Group<CommandConnectionsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CommandConnectionsManage));
        Description(d => d.WithName("CreateCommandConnection")
            .WithSummary("Connect a CAD system: its API key and callback secret are in this response only."));
    }

    public override async Task<Results<Created<CreatedCommandConnection>, ValidationProblem>> ExecuteAsync(
        CommandConnectionRequest request, CancellationToken ct)
    {
        if (await request.UrlErrorsAsync(environment.IsDevelopment(), outbound) is { Count: > 0 } errors) return TypedResults.ValidationProblem(errors);
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        if (await request.UserErrorsAsync(scope) is { Count: > 0 } userErrors) return TypedResults.ValidationProblem(userErrors);
        var (connection, secrets) = await Grains.Identity.CommandConnections.CreateAsync(scope, request.Name!.Trim(),
            request.AckMode ?? Grains.Identity.AckMode.Poll, request.PublicUrl, request.Heartbeat, time.GetUtcNow());
        await scope.CommitAsync();
        if (connection.HeartbeatIntervalSeconds is not null) await HeartbeatWatches.WakeAsync(grains, connection.Id, Logger);
        return TypedResults.Created($"/api/v1/command-connections/{connection.Id}",
            new CreatedCommandConnection(connection, secrets.ApiKey, secrets.CallbackSecret));
    }
}

public sealed class UpdateCommandConnection(DispatchStore store, IClusterClient grains, TimeProvider time, IHostEnvironment environment, OutboundPolicy outbound)
    : Endpoint<UpdateConnectionRequest, Results<Ok<CommandConnection>, NotFound, ValidationProblem>>
{
    public override void Configure()
    {
        Patch("/{id:guid}");
        Group<CommandConnectionsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CommandConnectionsManage));
        Description(d => d.WithName("UpdateCommandConnection").WithSummary("Rename, or change how acknowledgements reach it."));
    }

    public override async Task<Results<Ok<CommandConnection>, NotFound, ValidationProblem>> ExecuteAsync(UpdateConnectionRequest request, CancellationToken ct)
    {
        if (await request.UrlErrorsAsync(environment.IsDevelopment(), outbound) is { Count: > 0 } errors) return TypedResults.ValidationProblem(errors);
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        if (await Grains.Identity.CommandConnections.GetAsync(scope, request.Id) is not { } existing) return TypedResults.NotFound();
        if (request.AckMode == Grains.Identity.AckMode.Callback && request.PublicUrl is null && existing.PublicUrl is null)
            return Problems.Field("publicUrl", "publicUrl is required for callbacks.");
        if (await request.UserErrorsAsync(scope) is { Count: > 0 } userErrors) return TypedResults.ValidationProblem(userErrors);
        var connection = await Grains.Identity.CommandConnections.UpdateAsync(scope, request.Id, request.Name?.Trim(), request.AckMode, request.PublicUrl,
            request.Heartbeat, time.GetUtcNow());
        await scope.CommitAsync();
        if (request.HeartbeatIntervalSeconds is not null || request.NotifyPsapUserIds is not null)
            await HeartbeatWatches.WakeAsync(grains, connection!.Id, Logger);
        return TypedResults.Ok(connection!);
    }
}

public sealed class DeactivateCommandConnection(DispatchStore store, IClusterClient grains, TimeProvider time) : Endpoint<IdRoute, Results<NoContent, NotFound>>
{
    public override void Configure()
    {
        Delete("/{id:guid}");
        Group<CommandConnectionsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CommandConnectionsManage));
        Description(d => d.WithName("DeactivateCommandConnection").WithSummary("Disconnect: its key stops working."));
    }

    public override async Task<Results<NoContent, NotFound>> ExecuteAsync(IdRoute request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        if (await Grains.Identity.CommandConnections.DeactivateAsync(scope, request.Id, time.GetUtcNow()) is not { } connection) return TypedResults.NotFound();
        await scope.CommitAsync();
        if (connection.HeartbeatIntervalSeconds is not null) await HeartbeatWatches.WakeAsync(grains, connection.Id, Logger);
        return TypedResults.NoContent();
    }
}

/// <summary>Tells a connection's grain its heartbeat settings changed, after the commit.</summary>
internal static class HeartbeatWatches
{
    /// <summary>
    /// One-way; a wake that cannot be sent (no silo now) is not the caller's failure — the change is committed, and the silos'
    /// sweep brings a lost watch back (at the latest when its silence would be overdue).
    /// </summary>
    public static async Task WakeAsync(IClusterClient grains, Guid connectionId, ILogger logger)
    {
        try
        {
            await grains.GetGrain<Grains.Commands.ICommandConnectionGrain>(connectionId).WatchAsync();
        }
        catch (Exception e) when (e is OrleansException or InvalidOperationException or TimeoutException)
        {
            logger.LogWarning("The heartbeat watch of command connection {ConnectionId} will be picked up by the silos' sweep ({Error})", connectionId, e.GetType().Name);
        }
    }
}
