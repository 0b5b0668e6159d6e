using FastEndpoints;
using FluentValidation;

namespace Dispatch.Api.Identity.Roles;

/// <summary><c>/api/v1/roles</c>: built-in roles and an agency's custom ones.</summary>
public sealed class RolesGroup : Group
{
    public RolesGroup() => Configure("/api/v1/roles", ep => ep.Description(d => d.WithTags("Roles")));
}

public class RoleRequest
{
    public string? Name { get; set; }
    public string? Slug { get; set; }
    public IReadOnlyList<string>? Permissions { get; set; }

    /// <summary>Permissions an agency of the caller's type cannot grant, as field errors.</summary>
    public Dictionary<string, string[]> Ungrantable(string agencyType)
    {
        var allowed = Dispatch.Grains.Identity.Permissions.AllowedFor(agencyType);
        var unknown = (Permissions ?? []).Where(p => !allowed.Contains(p))
            .Select(p => $"'{p}' is not a permission an agency of type {agencyType} can grant.").ToArray();
        return unknown.Length == 0 ? [] : new() { ["permissions"] = unknown };
    }
}

public sealed class UpdateRoleRequest : RoleRequest
{
    public Guid Id { get; set; }
}

public sealed class CreateRoleValidator : Validator<RoleRequest>
{
    public CreateRoleValidator()
    {
        RuleFor(r => r.Name).Must(n => !string.IsNullOrWhiteSpace(n)).WithMessage("name is required.");
        RuleFor(r => r.Slug).Must(Endpoints.IsSlug).WithMessage("slug is lower-case letters, digits and single dashes.");
        RuleFor(r => r.Permissions).NotNull().WithMessage("permissions is required (it may be empty).");
        RuleFor(r => r.Permissions).AtMost("permissions");
    }
}

public sealed class ListRoles(DispatchStore store) : Endpoint<PageRequest, Ok<Page<Role>>>
{
    public override void Configure()
    {
        Get("/");
        Group<RolesGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.UsersRead));
        Description(d => d.WithName("ListRoles").WithSummary("Built-in roles for the caller's agency type and its custom roles."));
    }

    public override async Task<Ok<Page<Role>>> ExecuteAsync(PageRequest request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        return TypedResults.Ok(request.ToPaging().Of(await Grains.Identity.Roles.ListAsync(scope)));
    }
}

public sealed class GetRole(DispatchStore store) : Endpoint<IdRoute, Results<Ok<Role>, NotFound>>
{
    public override void Configure()
    {
        Get("/{id:guid}");
        Group<RolesGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.UsersRead));
        Description(d => d.WithName("GetRole").WithSummary("One role."));
    }

    public override async Task<Results<Ok<Role>, NotFound>> ExecuteAsync(IdRoute request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        return await Grains.Identity.Roles.GetAsync(scope, request.Id) is { } role ? TypedResults.Ok(role) : TypedResults.NotFound();
    }
}

public sealed class CreateRole(DispatchStore store, TimeProvider time) : Endpoint<RoleRequest, Results<Created<Role>, ValidationProblem, ProblemHttpResult>>
{
    public override void Configure()
    {
        Post("/");
        Group<RolesGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.RolesManage));
        Description(d => d.ProducesProblem(StatusCodes.Status409Conflict).WithName("CreateRole").WithSummary("A custom role with a set of permissions."));
    }

    public override async Task<Results<Created<Role>, ValidationProblem, ProblemHttpResult>> ExecuteAsync(RoleRequest request, CancellationToken ct)
    {
        if (request.Ungrantable(User.AgencyType()) is { Count: > 0 } errors) return TypedResults.ValidationProblem(errors);
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        try
        {
            var role = await Grains.Identity.Roles.CreateAsync(scope, request.Name!.Trim(), request.Slug!, request.Permissions!, time.GetUtcNow());
            await scope.CommitAsync();
            return TypedResults.Created($"/api/v1/roles/{role.Id}", role);
        }
        catch (DuplicateException e)
        {
            return Problems.Conflict(e.Message);
        }
    }
}

public sealed class UpdateRole(DispatchStore store, TimeProvider time) : Endpoint<UpdateRoleRequest, Results<Ok<Role>, NotFound, ValidationProblem>>
{
    public override void Configure()
    {
        Patch("/{id:guid}");
        Group<RolesGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.RolesManage));
        Description(d => d.WithName("UpdateRole").WithSummary("Rename a custom role or change its permissions."));
    }

    public override async Task<Results<Ok<Role>, NotFound, ValidationProblem>> ExecuteAsync(UpdateRoleRequest request, CancellationToken ct)
    {
        if (request.Ungrantable(User.AgencyType()) is { Count: > 0 } errors) return TypedResults.ValidationProblem(errors);
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        if (await Grains.Identity.Roles.UpdateAsync(scope, request.Id, request.Name?.Trim(), request.Permissions, time.GetUtcNow()) is not { } role)
            return TypedResults.NotFound();
        await scope.CommitAsync();
        return TypedResults.Ok(role);
    }
}

public sealed class DeleteRole(DispatchStore store) : Endpoint<IdRoute, Results<NoContent, NotFound, ProblemHttpResult>>
{
    public override void Configure()
    {
        Delete("/{id:guid}");
        Group<RolesGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.RolesManage));
        Description(d => d.ProducesProblem(StatusCodes.Status409Conflict).WithName("DeleteRole").WithSummary("Delete a custom role nobody holds."));
    }

    public override async Task<Results<NoContent, NotFound, ProblemHttpResult>> ExecuteAsync(IdRoute request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        switch (await Grains.Identity.Roles.DeleteAsync(scope, request.Id))
        {
            case null: return TypedResults.NotFound();
            case false: return Problems.Conflict("Users still hold this role.");
            default:
                await scope.CommitAsync();
                return TypedResults.NoContent();
        }
    }
}
