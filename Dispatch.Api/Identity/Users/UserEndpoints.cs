using FastEndpoints;
using FluentValidation;

namespace Dispatch.Api.Identity.Users;

/// <summary><c>/api/v1/users</c>: the people of the caller's agency.</summary>
public sealed class UsersGroup : Group
{
    public UsersGroup() => Configure("/api/v1/users", ep => ep.Description(d => d.WithTags("Users")));
}

public sealed class ListUsers(DispatchStore store) : Endpoint<PageRequest, Ok<Page<User>>>
{
    public override void Configure()
    {
        Get("/");
        Group<UsersGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.UsersRead));
        Description(d => d.WithName("ListUsers").WithSummary("Users of the caller's agency."));
    }

    public override async Task<Ok<Page<User>>> ExecuteAsync(PageRequest request, CancellationToken ct)
    {
        var paging = request.ToPaging();
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        var users = await Grains.Identity.Users.ListAsync(scope, paging.Offset, paging.PageSize);
        return TypedResults.Ok(new Page<User>(users, paging.Page, paging.PageSize, await Grains.Identity.Users.CountAsync(scope)));
    }
}

public sealed class GetUser(DispatchStore store) : Endpoint<IdRoute, Results<Ok<User>, NotFound>>
{
    public override void Configure()
    {
        Get("/{id:guid}");
        Group<UsersGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.UsersRead));
        Description(d => d.WithName("GetUser").WithSummary("One user of the caller's agency."));
    }

    public override async Task<Results<Ok<User>, NotFound>> ExecuteAsync(IdRoute request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        return await Grains.Identity.Users.GetAsync(scope, request.Id) is { } user ? TypedResults.Ok(user) : TypedResults.NotFound();
    }
}

public sealed class CreateUserValidator : Validator<NewUserRequest>
{
    public CreateUserValidator() => Include(new NewUserRules(roleRequired: true));
}

public sealed class CreateUser(DispatchStore store, TimeProvider time) : Endpoint<NewUserRequest, Results<Created<User>, ValidationProblem, ProblemHttpResult>>
{
    public override void Configure()
    {
        Post("/");
        Group<UsersGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.UsersManage));
        Description(d => d.ProducesProblem(StatusCodes.Status409Conflict).WithName("CreateUser").WithSummary("Add a user to the caller's agency."));
    }

    public override async Task<Results<Created<User>, ValidationProblem, ProblemHttpResult>> ExecuteAsync(NewUserRequest request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        try
        {
            var id = await Grains.Identity.Users.CreateAsync(scope, scope.Context.AgencyId, request.ToNewUser(), time.GetUtcNow());
            var user = (await Grains.Identity.Users.GetAsync(scope, id))!;
            await scope.CommitAsync();
            return TypedResults.Created($"/api/v1/users/{id}", user);
        }
        catch (UnknownReferenceException e)
        {
            return Problems.Field(e.Field, e.Message);
        }
        catch (DuplicateException e)
        {
            return Problems.Conflict(e.Message);
        }
    }
}

public sealed class UpdateUserRequest
{
    public Guid Id { get; set; }
    public string? FirstName { get; set; }
    public string? LastName { get; set; }
    public Guid? RoleId { get; set; }
    public string? Password { get; set; }
}

/// <summary>The names; the password is judged against the user's email, in the handler.</summary>
public sealed class UpdateUserValidator : Validator<UpdateUserRequest>
{
    public UpdateUserValidator()
    {
        RuleFor(r => r.FirstName).Must(n => n is null || n.Trim().Length > 0).WithMessage("firstName cannot be blank.");
        RuleFor(r => r.LastName).Must(n => n is null || n.Trim().Length > 0).WithMessage("lastName cannot be blank.");
    }
}

public sealed class UpdateUser(DispatchStore store, TimeProvider time) : Endpoint<UpdateUserRequest, Results<Ok<User>, NotFound, ValidationProblem>>
{
    public override void Configure()
    {
        Patch("/{id:guid}");
        Group<UsersGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.UsersManage));
        Description(d => d.WithName("UpdateUser").WithSummary("Change a user's name, role or password."));
        DontThrowIfValidationFails(); // a user of another agency is not found, whatever the body says
    }

    public override async Task<Results<Ok<User>, NotFound, ValidationProblem>> ExecuteAsync(UpdateUserRequest request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        if (await Grains.Identity.Users.GetAsync(scope, request.Id) is not { } existing) return TypedResults.NotFound();
        var errors = FastEndpointsSetup.Fields(ValidationFailures);
        if (request.Password is not null && PasswordPolicy.Check(request.Password, existing.Email) is { } weak)
            errors["password"] = [$"The password is too weak: {weak}."];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);
        try
        {
            var user = await Grains.Identity.Users.UpdateAsync(scope, request.Id,
                new UserChanges(request.FirstName?.Trim(), request.LastName?.Trim(), request.RoleId, request.Password), time.GetUtcNow());
            await scope.CommitAsync();
            return TypedResults.Ok(user!);
        }
        catch (UnknownReferenceException e)
        {
            return Problems.Field(e.Field, e.Message);
        }
    }
}

public sealed class DeactivateUser(DispatchStore store, TimeProvider time) : Endpoint<IdRoute, Results<Ok<User>, NotFound>>
{
    public override void Configure()
    {
        Post("/{id:guid}/deactivate");
        Group<UsersGroup>();
        Options(b => b.RequirePermission(Dispatch.Grains.Identity.Permissions.UsersManage));
        Description(d => d.WithName("DeactivateUser").WithSummary("Stop a user: no more logins, refresh tokens revoked."));
    }

    public override async Task<Results<Ok<User>, NotFound>> ExecuteAsync(IdRoute request, CancellationToken ct)
    {
        await using var scope = await store.BeginAsync(User.ToAgencyContext());
        if (await Grains.Identity.Users.DeactivateAsync(scope, request.Id, time.GetUtcNow()) is not { } user) return TypedResults.NotFound();
        await scope.CommitAsync();
        return TypedResults.Ok(user);
    }
}
