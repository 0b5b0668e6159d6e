using System.Text.Json.Nodes;
using Dispatch.Grains.Transports;
using FastEndpoints;
using FluentValidation;

namespace Dispatch.Api.Transports.UpdateChannel;

public sealed class UpdateChannelRequest
{
    public Guid Id { get; set; }
    public string? Name { get; set; }
    public JsonObject? Config { get; set; }
    public bool? IsActive { get; set; }
}

public sealed class UpdateChannelValidator : Validator<UpdateChannelRequest>
{
    public UpdateChannelValidator() =>
        RuleFor(r => r.Name).Must(n => n is null || n.Trim().Length is > 0 and <= 100).WithMessage("name is 1–100 characters.");
}

public sealed class UpdateTransportChannel(IClusterClient grains, DispatchStore store, OutboundPolicy outbound)
    : Endpoint<UpdateChannelRequest, Results<Ok<TransportChannel>, NotFound, ValidationProblem, ProblemHttpResult>>
{
    public override void Configure()
    {
        Patch("/{id:guid}");
        Group<ChannelsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.TransportChannelsManage));
        Description(d => d.WithName("UpdateTransportChannel")
            .WithSummary("Rename, reconfigure (secrets sent as [redacted] are kept) or deactivate a channel."));
    }

    public override async Task<Results<Ok<TransportChannel>, NotFound, ValidationProblem, ProblemHttpResult>> ExecuteAsync(
        UpdateChannelRequest request, CancellationToken ct)
    {
        var context = User.ToAgencyContext();
        // Destinations are checked here, by the Api's policy; the grain checks the merged configuration (stored secrets kept) again.
        if (request.Config is not null)
        {
            await using var scope = await store.BeginAsync(context);
            if (await TransportConfiguration.ChannelAsync(scope, request.Id) is not { } stored) return TypedResults.NotFound();
            if (await RefusedDestinationsAsync(stored.TransportTypeSlug, request.Config) is { Count: > 0 } refused)
                return TypedResults.ValidationProblem(refused);
        }
        var result = await grains.GetGrain<IAgencyGrain>(context.AgencyId).UpdateChannelAsync(context, request.Id,
            new ChannelChanges(request.Name?.Trim(), request.Config, request.IsActive));
        return ConfigurationAnswers.Updated(result);
    }

    // A malformed change is not refused here: the grain's validation of the merged configuration names its fields.
    private async Task<Dictionary<string, string[]>> RefusedDestinationsAsync(string slug, JsonObject config)
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
}
