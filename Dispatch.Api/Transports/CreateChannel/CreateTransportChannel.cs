using System.Text.Json.Nodes;
using Dispatch.Grains.Transports;
using FastEndpoints;
using FluentValidation;

namespace Dispatch.Api.Transports.CreateChannel;

public sealed class CreateChannelRequest
{
    public string? TransportType { get; set; }
    public string? Name { get; set; }
    public JsonObject? Config { get; set; }
    public bool? IsActive { get; set; }
}

public sealed class CreateChannelValidator : Validator<CreateChannelRequest>
{
    public CreateChannelValidator()
    {
        RuleFor(r => r.TransportType).Must(t => TransportSlug.All.Contains(t ?? "")).WithMessage($"transportType is one of {string.Join(", ", TransportSlug.All)}.");
        RuleFor(r => r.Name).Must(n => !string.IsNullOrWhiteSpace(n)).WithMessage("name is required.");
        RuleFor(r => r.Name).Must(n => n is null || n.Trim().Length is > 0 and <= 100).WithMessage("name is 1–100 characters.");
        // The type's own schema names each wrong field of the config.
        RuleFor(r => r).Custom((r, context) =>
        {
            if (!TransportSlug.All.Contains(r.TransportType ?? "")) return;
            foreach (var (field, messages) in ChannelConfig.Validate(r.TransportType!, r.Config ?? new JsonObject(), isOverride: false))
                foreach (var message in messages) context.AddFailure(field, message);
        });
    }
}

public sealed class CreateTransportChannel(IClusterClient grains, OutboundPolicy outbound)
    : Endpoint<CreateChannelRequest, Results<Created<TransportChannel>, ValidationProblem>>
{
    public override void Configure()
    {
        Post("/");
        Group<ChannelsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.TransportChannelsManage));
        Description(d => d.WithName("CreateTransportChannel").WithSummary("A channel; its config is checked against its type's schema."));
    }

    public override async Task<Results<Created<TransportChannel>, ValidationProblem>> ExecuteAsync(CreateChannelRequest request, CancellationToken ct)
    {
        if (await ChannelConfig.CheckDestinationsAsync(outbound, request.TransportType!, request.Config) is { Count: > 0 } refused)
            return TypedResults.ValidationProblem(refused);
        var context = User.ToAgencyContext();
        var result = await grains.GetGrain<IAgencyGrain>(context.AgencyId).CreateChannelAsync(context,
            new ChannelDraft(request.TransportType!, request.Name!.Trim(), request.Config ?? new JsonObject()));
        return TypedResults.Created($"/api/v1/transport-channels/{result.Value!.Id}", result.Value);
    }
}
