using Dispatch.Grains.Commands;
using FastEndpoints;

namespace Dispatch.Api.Commands.Heartbeat;

/// <summary>
/// <c>POST /api/v1/command/heartbeat</c> with a command connection's key: "this CAD link is alive". Any other authenticated call of
/// the connection counts too (within a few seconds); this one reaches the watch at once and answers how it stands.
/// </summary>
public sealed class SendHeartbeat(IClusterClient grains, TimeProvider time) : EndpointWithoutRequest<Results<Ok<HeartbeatStatus>, ProblemHttpResult>>
{
    public override void Configure()
    {
        Post("/api/v1/command/heartbeat");
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CommandHeartbeat));
        Description(d => d.WithTags("Command systems").WithName("SendHeartbeat")
            .WithSummary("A command connection says it is alive; silent past its heartbeat interval, the PSAP users it names are alerted."));
    }

    public override async Task<Results<Ok<HeartbeatStatus>, ProblemHttpResult>> ExecuteAsync(CancellationToken ct)
    {
        if (User.ToAgencyContext().CommandConnectionId is not { } connection)
            return Problems.Forbidden("Heartbeats come from a command connection: call with its key (Authorization: ApiKey …).");
        return TypedResults.Ok(await grains.GetGrain<ICommandConnectionGrain>(connection).HeartbeatAsync(time.GetUtcNow()));
    }
}
