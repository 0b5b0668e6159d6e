using Dispatch.Grains.Commands;
using FastEndpoints;
using FluentValidation;

namespace Dispatch.Api.Commands.PollAcks;

public sealed class PollAcknowledgementsRequest
{
    /// <summary>The cursor an earlier poll returned; none for the oldest.</summary>
    public string? After { get; set; }
    public int? Limit { get; set; }
}

public sealed class PollAcknowledgementsValidator : Validator<PollAcknowledgementsRequest>
{
    public PollAcknowledgementsValidator()
    {
        RuleFor(r => r.After).Must(a => string.IsNullOrEmpty(a) || AckCursor.TryParse(a, out _)).WithMessage("after is a cursor returned by an earlier poll.");
        RuleFor(r => r.Limit).Must(l => l is null or (>= 1 and <= CommandAcks.MaxPageSize))
            .WithMessage($"limit must be between 1 and {CommandAcks.MaxPageSize}.");
    }
}

public sealed class PollAcknowledgements(DispatchStore store) : Endpoint<PollAcknowledgementsRequest, Ok<AckEventPage>>
{
    public override void Configure()
    {
        Get("/api/v1/command/acks");
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CommandAcksRead));
        Description(d => d.WithTags("Command systems").WithName("PollAcknowledgements")
            .WithSummary("Company acknowledgements of the PSAP's incidents after a cursor, oldest first; pass back the returned cursor to continue."));
    }

    public override async Task<Ok<AckEventPage>> ExecuteAsync(PollAcknowledgementsRequest request, CancellationToken ct)
    {
        AckCursor? cursor = string.IsNullOrEmpty(request.After) ? null : AckCursor.TryParse(request.After, out var c) ? c : null;
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        return TypedResults.Ok(await CommandAcks.PollAsync(scope, cursor, request.Limit ?? 100));
    }
}
