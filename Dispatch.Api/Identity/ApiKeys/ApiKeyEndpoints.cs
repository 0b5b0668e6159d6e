using FastEndpoints;
using FluentValidation;

namespace Dispatch.Api.Identity.ApiKeys;

/// <summary><c>/api/v1/api-keys</c>: keys for machines, carrying some of their maker's permissions.</summary>
public sealed class ApiKeysGroup : Group
{
    public ApiKeysGroup() => Configure("/api/v1/api-keys", ep => ep.Description(d => d.WithTags("API keys")));
}

public sealed class NewApiKeyRequest
{
    public string? Name { get; set; }
    public IReadOnlyList<string>? Scopes { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }
}

public sealed class NewApiKeyValidator : Validator<NewApiKeyRequest>
{
    public NewApiKeyValidator()
    {
        RuleFor(r => r.Name).Must(n => !string.IsNullOrWhiteSpace(n)).WithMessage("name is required.");
        RuleFor(r => r.Scopes).Must(s => s is { Count: > 0 }).WithMessage("scopes lists the permissions the key carries (at least one).");
        RuleFor(r => r.Scopes).AtMost("scopes");
    }
}

/// <summary>The only response that ever holds the key.</summary>
public sealed record CreatedApiKey(ApiKey ApiKey, string Key);

public sealed class ListApiKeys(DispatchStore store) : Endpoint<PageRequest, Ok<Page<ApiKey>>>
{
    public override void Configure()
    {
        Get("/");
        Group<ApiKeysGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.ApiKeysManage));
        Description(d => d.WithName("ListApiKeys").WithSummary("The agency's API keys (prefix only; the key is never shown again)."));
    }

    public override async Task<Ok<Page<ApiKey>>> ExecuteAsync(PageRequest request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        return TypedResults.Ok(request.ToPaging().Of(await Grains.Identity.ApiKeys.ListAsync(scope)));
    }
}

public sealed class CreateApiKey(DispatchStore store, TimeProvider time) : Endpoint<NewApiKeyRequest, Results<Created<CreatedApiKey>, ValidationProblem>>
{
    public override void Configure()
    {
        Post("/");
        Group<ApiKeysGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.ApiKeysManage));
        Description(d => d.WithName("CreateApiKey")
            .WithSummary("A new key carrying some of the caller's permissions as scopes; the response is the only time it is shown."));
    }

    public override async Task<Results<Created<CreatedApiKey>, ValidationProblem>> ExecuteAsync(NewApiKeyRequest request, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        // What the key may carry depends on who makes it, and when.
        var held = User.Permissions();
        var errors = new Errors().Check(request.ExpiresAt is null || request.ExpiresAt > now, "expiresAt", "expiresAt must be in the future.");
        foreach (var scopeName in request.Scopes!.Where(s => !held.Contains(s)))
            errors.Add("scopes", $"'{scopeName}' is not a permission you hold, so a key you make cannot carry it.");
        if (errors.Any) return TypedResults.ValidationProblem(errors.ToDictionary());
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        var (key, secret) = await Grains.Identity.ApiKeys.CreateAsync(scope, request.Name!.Trim(), request.Scopes!, request.ExpiresAt, now);
        await scope.CommitAsync();
        return TypedResults.Created($"/api/v1/api-keys/{key.Id}", new CreatedApiKey(key, secret));
    }
}

public sealed class RevokeApiKey(DispatchStore store, TimeProvider time) : Endpoint<IdRoute, Results<NoContent, NotFound>>
{
    public override void Configure()
    {
        Delete("/{id:guid}");
        Group<ApiKeysGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.ApiKeysManage));
        Description(d => d.WithName("RevokeApiKey").WithSummary("Revoke a key at once."));
    }

    public override async Task<Results<NoContent, NotFound>> ExecuteAsync(IdRoute request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        if (await Grains.Identity.ApiKeys.RevokeAsync(scope, request.Id, time.GetUtcNow()) is null) return TypedResults.NotFound();
        await scope.CommitAsync();
        return TypedResults.NoContent();
    }
}
