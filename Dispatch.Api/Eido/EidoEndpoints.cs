using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dispatch.Api.Cfs.Configurations;
using Dispatch.Grains.Cfs;
using Dispatch.Grains.Eido;
using Dispatch.Grains.Transports;
using FastEndpoints;
using FluentValidation;

namespace Dispatch.Api.Eido;

/// <summary><c>/api/v1/eido-subscriptions</c>: the PSAP's NG9-1-1 EIDO subscriptions.</summary>
public sealed class SubscriptionsGroup : Group
{
    public SubscriptionsGroup() => Configure("/api/v1/eido-subscriptions", ep => ep.Description(d => d.WithTags("NG9-1-1 (EIDO)")));
}

/// <summary>
/// An EIDO subscription: the notifier's <c>wss://</c> URL (Dispatch subscribes there) and/or the command connection that pushes
/// EIDOs over HTTPS, how Dispatch proves itself to the notifier, what it subscribes to, and the mapping that decides what each EIDO
/// becomes. <see cref="Credentials"/> left out of an update keeps those stored; sent as <c>{}</c> it clears them.
/// </summary>
public class EidoSubscriptionRequest
{
    public string? Name { get; set; }
    public string? NotifierUrl { get; set; }
    public string? SubType { get; set; }
    public string? IncidentId { get; set; }
    public EidoCredentials? Credentials { get; set; }
    public Guid? CommandConnectionId { get; set; }
    public EidoMapping? Mapping { get; set; }
    public int? ExpiresSeconds { get; set; }
    public bool? IsActive { get; set; }

    public EidoSubscriptionChanges ToChanges() => new(Name!.Trim(), string.IsNullOrWhiteSpace(NotifierUrl) ? null : NotifierUrl.Trim(),
        SubType ?? EidoSubType.New, string.IsNullOrWhiteSpace(IncidentId) ? null : IncidentId.Trim(), Credentials, CommandConnectionId,
        Mapping ?? new EidoMapping(), ExpiresSeconds ?? 3600, IsActive ?? true);
}

public sealed class UpdateEidoSubscriptionRequest : EidoSubscriptionRequest
{
    public Guid Id { get; set; }
}

public sealed class EidoSubscriptionRules : AbstractValidator<EidoSubscriptionRequest>
{
    public EidoSubscriptionRules()
    {
        RuleFor(r => r.Name).Must(n => !string.IsNullOrWhiteSpace(n) && n.Length <= 200).WithMessage("name is required (at most 200 characters).");
        RuleFor(r => r.SubType).Must(s => s is null || EidoSubType.IsValid(s)).WithMessage("subType is new (every new incident) or single (one incident).");
        RuleFor(r => r.IncidentId).Must((r, id) => (r.SubType == EidoSubType.Single) == !string.IsNullOrWhiteSpace(id))
            .WithMessage("incidentId names the one incident of a single subscription, and only then.");
        RuleFor(r => r.IncidentId).MaximumLength(512);
        RuleFor(r => r.NotifierUrl).Must((r, url) => !string.IsNullOrWhiteSpace(url) || r.CommandConnectionId is not null)
            .WithMessage("Give the notifierUrl to subscribe to, or the commandConnectionId that pushes EIDOs, or both.");
        RuleFor(r => r.ExpiresSeconds).Must(s => s is null or (>= 60 and <= 86_400)).WithMessage("expiresSeconds is between 60 and 86400.");
        RuleFor(r => r.Credentials!.Authorization).MaximumLength(4096).When(r => r.Credentials is not null);
        RuleFor(r => r.Credentials).Must(c => c?.ClientCertificate is null || Certificate(c) is null)
            .WithName("credentials.clientCertificate")
            .WithMessage(r => Certificate(r.Credentials!) ?? "");
        RuleFor(r => r.Mapping).Custom((mapping, context) =>
        {
            foreach (var (field, message) in mapping?.Validate() ?? []) context.AddFailure(field, message);
        });
    }

    /// <summary>Why the client certificate cannot be used, or null: a base64 PKCS#12 with its private key, opened by the password given.</summary>
    private static string? Certificate(EidoCredentials credentials)
    {
        try
        {
            using var certificate = X509CertificateLoader.LoadPkcs12(Convert.FromBase64String(credentials.ClientCertificate!),
                credentials.ClientCertificatePassword);
            return certificate.HasPrivateKey ? null : "clientCertificate has no private key: mutual TLS needs one.";
        }
        catch (Exception e) when (e is FormatException or CryptographicException)
        {
            return $"clientCertificate is not a base64 PKCS#12 (.pfx) that the password opens: {e.Message}";
        }
    }
}

public sealed class CreateEidoSubscriptionValidator : Validator<EidoSubscriptionRequest>
{
    public CreateEidoSubscriptionValidator() => Include(new EidoSubscriptionRules());
}

public sealed class UpdateEidoSubscriptionValidator : Validator<UpdateEidoSubscriptionRequest>
{
    public UpdateEidoSubscriptionValidator() => Include(new EidoSubscriptionRules());
}

internal static class SubscriptionChecks
{
    /// <summary>
    /// Every field error at once: the request's own; a notifier URL that is wss:// (ws:// on loopback in development) without
    /// credentials in it, to a destination the outbound policy allows; a command connection of this PSAP that no other active
    /// subscription takes; a mapping naming only active companies the PSAP works with.
    /// </summary>
    public static async Task<ValidationProblem?> ValidateAsync(AgencyScope scope, Guid? id, EidoSubscriptionRequest request, bool development,
        OutboundPolicy outbound, Dictionary<string, string[]> errors)
    {
        if (!string.IsNullOrWhiteSpace(request.NotifierUrl)
            && await DestinationUrls.ErrorAsync("notifierUrl", request.NotifierUrl, Uri.UriSchemeWss, Uri.UriSchemeWs, development, outbound) is { } urlError)
            errors["notifierUrl"] = [urlError];
        if (request.CommandConnectionId is { } connection)
        {
            if (await Grains.Identity.CommandConnections.GetAsync(scope, connection) is null)
                errors["commandConnectionId"] = ["commandConnectionId is not one of your PSAP's command connections."];
            else if (request.IsActive != false && await EidoSubscriptions.ConnectionTakenAsync(scope, connection, id))
                errors["commandConnectionId"] = ["Another active EIDO subscription already takes this connection's EIDOs."];
        }
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);
        var companies = request.Mapping?.Companies ?? [];
        return companies.Count == 0 || await CfsRecords.CountAssignableAsync(scope, companies) == companies.Count ? null
            : Problems.Field("mapping.rules", "Every company must be an active company this PSAP works with.");
    }
}

public sealed class ListEidoSubscriptions(DispatchStore store) : Endpoint<PageRequest, Ok<Page<EidoSubscription>>>
{
    public override void Configure()
    {
        Get("/");
        Group<SubscriptionsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CfsRead));
        Description(d => d.WithName("ListEidoSubscriptions").WithSummary("The PSAP's EIDO subscriptions, with what each last knew of its notifier."));
    }

    public override async Task<Ok<Page<EidoSubscription>>> ExecuteAsync(PageRequest request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        return TypedResults.Ok(request.ToPaging().Of(await EidoSubscriptions.ListAsync(scope)));
    }
}

public sealed class GetEidoSubscription(DispatchStore store) : Endpoint<IdRoute, Results<Ok<EidoSubscription>, NotFound>>
{
    public override void Configure()
    {
        Get("/{id:guid}");
        Group<SubscriptionsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CfsRead));
        Description(d => d.WithName("GetEidoSubscription").WithSummary("One EIDO subscription: its state shows the notifier's subscription id, its expiry, the last event and the last error."));
    }

    public override async Task<Results<Ok<EidoSubscription>, NotFound>> ExecuteAsync(IdRoute request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        return await EidoSubscriptions.GetAsync(scope, request.Id) is { } s ? TypedResults.Ok(s) : TypedResults.NotFound();
    }
}

public sealed class CreateEidoSubscription(DispatchStore store, TimeProvider time, IHostEnvironment environment, OutboundPolicy outbound, EidoSubscribers subscribers)
    : Endpoint<EidoSubscriptionRequest, Results<Created<EidoSubscription>, ValidationProblem>>
{
    public override void Configure()
    {
        Post("/");
        Group<SubscriptionsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CfsManage));
        Description(d => d.WithName("CreateEidoSubscription")
            .WithSummary("Subscribe to a PSAP notifier's EIDOs (NENA-STA-024) and/or take a command connection's pushed EIDOs, with a mapping; the Silo connects at once."));
        DontThrowIfValidationFails(); // the URL's and connection's own errors are told beside the request's
    }

    public override async Task<Results<Created<EidoSubscription>, ValidationProblem>> ExecuteAsync(EidoSubscriptionRequest request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        if (await SubscriptionChecks.ValidateAsync(scope, null, request, environment.IsDevelopment(), outbound, FastEndpointsSetup.Fields(ValidationFailures))
            is { } invalid) return invalid;
        var saved = await EidoSubscriptions.SaveAsync(scope, null, request.ToChanges(), time.GetUtcNow());
        await scope.CommitAsync();
        await subscribers.TellAsync(saved.Id);
        return TypedResults.Created($"/api/v1/eido-subscriptions/{saved.Id}", saved);
    }
}

public sealed class UpdateEidoSubscription(DispatchStore store, TimeProvider time, IHostEnvironment environment, OutboundPolicy outbound, EidoSubscribers subscribers)
    : Endpoint<UpdateEidoSubscriptionRequest, Results<Ok<EidoSubscription>, NotFound, ValidationProblem>>
{
    public override void Configure()
    {
        Put("/{id:guid}");
        Group<SubscriptionsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CfsManage));
        Description(d => d.WithName("UpdateEidoSubscription").WithSummary("Replace an EIDO subscription's settings (credentials left out are kept); the subscriber reconnects with them."));
        DontThrowIfValidationFails(); // another agency's subscription is not found, whatever the body says
    }

    public override async Task<Results<Ok<EidoSubscription>, NotFound, ValidationProblem>> ExecuteAsync(UpdateEidoSubscriptionRequest request,
        CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        if (await EidoSubscriptions.GetAsync(scope, request.Id) is null) return TypedResults.NotFound();
        if (await SubscriptionChecks.ValidateAsync(scope, request.Id, request, environment.IsDevelopment(), outbound,
                FastEndpointsSetup.Fields(ValidationFailures)) is { } invalid) return invalid;
        var saved = await EidoSubscriptions.SaveAsync(scope, request.Id, request.ToChanges(), time.GetUtcNow());
        await scope.CommitAsync();
        await subscribers.TellAsync(saved.Id);
        return TypedResults.Ok(saved);
    }
}

public sealed class DeactivateEidoSubscription(DispatchStore store, TimeProvider time, EidoSubscribers subscribers)
    : Endpoint<IdRoute, Results<Ok<EidoSubscription>, NotFound>>
{
    public override void Configure()
    {
        Delete("/{id:guid}");
        Group<SubscriptionsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CfsManage));
        Description(d => d.WithName("DeactivateEidoSubscription").WithSummary("Stop an EIDO subscription: the subscriber disconnects, pushes are refused; its calls and events stay."));
    }

    public override async Task<Results<Ok<EidoSubscription>, NotFound>> ExecuteAsync(IdRoute request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        if (await EidoSubscriptions.GetAsync(scope, request.Id) is not { } s) return TypedResults.NotFound();
        var saved = await EidoSubscriptions.SaveAsync(scope, request.Id, new EidoSubscriptionChanges(s.Name, s.NotifierUrl, s.SubType, s.IncidentId, null,
            s.CommandConnectionId, s.Mapping, s.ExpiresSeconds, false), time.GetUtcNow());
        await scope.CommitAsync();
        await subscribers.TellAsync(saved.Id);
        return TypedResults.Ok(saved);
    }
}

public sealed class ListEidoEventsRequest : IPagedRequest
{
    public Guid Id { get; set; }
    public int? Page { get; set; }
    public int? PageSize { get; set; }
}

public sealed class ListEidoEventsValidator : Validator<ListEidoEventsRequest>
{
    public ListEidoEventsValidator() => this.AddPagingRules();
}

public sealed class ListEidoEvents(DispatchStore store) : Endpoint<ListEidoEventsRequest, Results<Ok<Page<EidoEventView>>, NotFound>>
{
    public override void Configure()
    {
        Get("/{id:guid}/events");
        Group<SubscriptionsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CfsRead));
        Description(d => d.WithName("ListEidoEvents").WithSummary("Events received on a subscription, newest first: each transactionId once, with the statusCode and statusText it was answered."));
    }

    public override async Task<Results<Ok<Page<EidoEventView>>, NotFound>> ExecuteAsync(ListEidoEventsRequest request, CancellationToken ct)
    {
        var paging = request.ToPaging();
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        if (await EidoSubscriptions.GetAsync(scope, request.Id) is null) return TypedResults.NotFound();
        var (items, total) = await EidoSubscriptions.ListEventsAsync(scope, request.Id, paging.Offset, paging.PageSize);
        return TypedResults.Ok(new Page<EidoEventView>(items, paging.Page, paging.PageSize, total));
    }
}

/// <summary>What one EIDO of a dry run would become: the call, and whether it would raise an incident (at which priority, for whom) or update a call already received.</summary>
public sealed record EidoDryRunItem(int Index, string? Error, DryRunRecord? Call, bool WouldRaise, string? Priority, IReadOnlyList<Guid> Companies,
    string? MatchedType);

public sealed record EidoDryRunResult(int EidoCount, int WarningCount, IReadOnlyList<EidoDryRunItem> Items);

/// <summary>A dry run's body: an EIDO, an array of them, or an STA-024 event message; with a mapping to try instead of the subscription's.</summary>
internal static class EidoBodies
{
    public const long MaxBytes = 4 * 1024 * 1024;

    /// <summary>The EIDOs a body carries, and the event's transactionId when it is an STA-024 <c>event</c> message.</summary>
    public static (string? TransactionId, IReadOnlyList<JsonNode?> Eidos) Of(JsonNode body) => body switch
    {
        JsonObject { } o when o["event"] is JsonObject ev => (ev["transactionId"]?.ToString(), ev["notification"] switch
        {
            JsonArray a => [.. a.Select(e => e?.DeepClone())],
            null => [],
            var single => [single.DeepClone()],
        }),
        JsonArray a => (null, [.. a.Select(e => e?.DeepClone())]),
        _ => (null, [body]),
    };

    public static async Task<(JsonNode? Body, byte[] Bytes, ValidationProblem? Problem)> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        var (body, problem) = await RequestBodies.ReadAsync(request, MaxBytes, "body", $"The body is over the limit of {MaxBytes} bytes.",
            "Send an EIDO (JSON) as the request body.", ct);
        if (problem is not null) return (null, [], problem);
        using (body)
        {
            var bytes = body!.ToArray();
            try
            {
                return (JsonNode.Parse(bytes), bytes, null);
            }
            catch (JsonException e)
            {
                return (null, [], Problems.Field("body", $"The body is not JSON: {e.Message}"));
            }
        }
    }

    public static async Task<EidoDryRunResult> DryRunAsync(AgencyScope scope, Guid? subscriptionId, EidoMapping mapping, IReadOnlyList<JsonNode?> eidos)
    {
        var read = eidos.Select(eido =>
        {
            try
            {
                return (Decided: EidoIntake.Decide(EidoReader.Read(eido), mapping), Error: (string?)null);
            }
            catch (EidoUnusableException e)
            {
                return (Decided: default, Error: e.Message);
            }
        }).ToList();
        // One read: which of them would update a call this subscription already received.
        var existing = subscriptionId is null ? [] : (await scope.QueryAsync<string>(
            "select external_cfs_id from cfs_incidents where eido_subscription_id = @subscriptionId and external_cfs_id = any(@ids)",
            new { subscriptionId, ids = read.Where(r => r.Error is null).Select(r => r.Decided.Record.ExternalId).ToArray() })).ToHashSet();
        var items = read.Select((r, i) =>
        {
            if (r.Error is not null) return new EidoDryRunItem(i, r.Error, null, false, null, [], null);
            var (record, raise, decision) = r.Decided;
            var exists = existing.Contains(record.ExternalId);
            return new EidoDryRunItem(i, null, DryRunRecord.From(record, exists), raise is not null && !exists, record.Priority, raise?.Companies ?? [],
                decision.Rule?.Type);
        }).ToList();
        return new EidoDryRunResult(eidos.Count, items.Sum(i => i.Call?.Warnings.Count ?? 0), items);
    }
}

/// <summary>The EIDO (or an array, or an STA-024 event message) is the raw JSON body, read with the subscription's own mapping.</summary>
public sealed class DryRunEidoSubscription(DispatchStore store) : EndpointWithoutRequest<Results<Ok<EidoDryRunResult>, NotFound, ValidationProblem>>
{
    public override void Configure()
    {
        Post("/{id:guid}/dry-run");
        Group<SubscriptionsGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.CfsManage)
            .WithMetadata(new FileBody("An EIDO (JSON), an array of EIDOs, or an STA-024 event message.")));
        Description(d => d.WithName("DryRunEidoSubscription")
            .WithSummary("Read EIDOs (the request body) with this subscription's mapping and show what each would become — the call, every warning, whether it would raise an incident — storing nothing."));
    }

    public override async Task<Results<Ok<EidoDryRunResult>, NotFound, ValidationProblem>> ExecuteAsync(CancellationToken ct)
    {
        var id = Route<Guid>("id");
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        if (await EidoSubscriptions.GetAsync(scope, id) is not { } subscription) return TypedResults.NotFound();
        var (body, _, problem) = await EidoBodies.ReadAsync(HttpContext.Request, ct);
        if (problem is not null) return problem;
        return TypedResults.Ok(await EidoBodies.DryRunAsync(scope, id, subscription.Mapping, EidoBodies.Of(body!).Eidos));
    }
}

/// <summary>
/// Tells a subscription's grain that its settings changed (it connects, reconnects with the new settings, or disconnects), after the
/// change committed. Not reaching it (no silo right now) loses nothing: the silos' sweep wakes every active subscriber.
/// </summary>
public sealed class EidoSubscribers(IClusterClient grains, ILogger<EidoSubscribers> logger)
{
    public async Task TellAsync(Guid subscriptionId)
    {
        try
        {
            await grains.GetGrain<IEidoSubscriptionGrain>(subscriptionId).EnsureSubscribedAsync();
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException or InvalidOperationException)
        {
            logger.LogWarning("The subscriber of EIDO subscription {SubscriptionId} was not told of its change ({Error}); the silos' sweep will start it",
                subscriptionId, ex.Message);
        }
    }
}

/// <summary>What a pushed event was answered, as STA-024 would answer it, and the calls it brought.</summary>
public sealed record EidoPushResult(string TransactionId, int StatusCode, string StatusText, bool Repeated, IReadOnlyList<Guid> CallIds, int Raised,
    int Warnings);

/// <summary>
/// <c>POST /api/v1/eido</c> with a command connection's key: EIDOs pushed over HTTPS into the active subscription that names the
/// connection, applied by that subscription's grain exactly as its WebSocket events are. The body is an EIDO, an array of them, or
/// an STA-024 <c>event</c> message; the event's identity is its <c>transactionId</c>, else the <c>Idempotency-Key</c> header,
/// else the SHA-256 of the body — sent again, it is answered as the first time and applied once.
/// </summary>
public sealed class PushEidos(DispatchStore store, IClusterClient grains) : EndpointWithoutRequest<Results<Ok<EidoPushResult>, ProblemHttpResult, ValidationProblem>>
{
    public override void Configure()
    {
        Post("/api/v1/eido");
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.EidoPush)
            .WithMetadata(new FileBody("An EIDO (JSON), an array of EIDOs, or an STA-024 event message.")));
        Description(d => d.WithTags("NG9-1-1 (EIDO)").WithName("PushEidos")
            .WithSummary("A command system pushes EIDOs: each becomes a call and, by the subscription's mapping, an incident; idempotent by transactionId, Idempotency-Key or content."));
    }

    public override async Task<Results<Ok<EidoPushResult>, ProblemHttpResult, ValidationProblem>> ExecuteAsync(CancellationToken ct)
    {
        if (User.ToAgencyContext().CommandConnectionId is not { } connection)
            return Problems.Forbidden("EIDOs are pushed by a command connection: call with its key (Authorization: ApiKey …).");
        EidoSubscription? subscription;
        await using (var scope = await store.BeginAsync(User.ToAgencyContext()))
            subscription = await EidoSubscriptions.ForConnectionAsync(scope, connection);
        if (subscription is null)
            return Problems.Forbidden("No active EIDO subscription takes this connection's EIDOs: an administrator names it in one (commandConnectionId).");
        var (body, bytes, problem) = await EidoBodies.ReadAsync(HttpContext.Request, ct);
        if (problem is not null) return problem;
        var (eventId, eidos) = EidoBodies.Of(body!);
        var key = HttpContext.Request.Headers["Idempotency-Key"].ToString();
        var transactionId = !string.IsNullOrWhiteSpace(eventId) ? eventId
            : !string.IsNullOrWhiteSpace(key) ? key
            : "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (transactionId.Length > 200) return Problems.Field("transactionId", "A transactionId (or Idempotency-Key) is at most 200 characters.");
        var outcome = await grains.GetGrain<IEidoSubscriptionGrain>(subscription.Id)
            .ApplyAsync(transactionId, EidoVia.Https, new JsonArray([.. eidos]).ToJsonString());
        var result = new EidoPushResult(transactionId, outcome.StatusCode, outcome.StatusText, outcome.Repeated, outcome.CallIds, outcome.Raised, outcome.Warnings);
        if (outcome.StatusCode == 200) return TypedResults.Ok(result);
        // A client's mistake (an EIDO it cannot use, too many at once) is a problem naming it; the usable EIDOs were applied.
        return TypedResults.Problem(statusCode: outcome.StatusCode is 413 ? StatusCodes.Status413PayloadTooLarge
                : outcome.StatusCode is 481 ? StatusCodes.Status409Conflict : StatusCodes.Status400BadRequest,
            title: "Not every EIDO could be used", detail: outcome.StatusText, extensions: new Dictionary<string, object?>
            {
                ["transactionId"] = transactionId, ["repeated"] = outcome.Repeated, ["callIds"] = outcome.CallIds, ["raised"] = outcome.Raised,
            });
    }
}
