using FluentValidation;

namespace Dispatch.Api.Identity;

/// <summary>What identity requests share: emails, passwords, time zones, a new user.</summary>
public static class IdentityRules
{
    public static bool IsEmail(string? value) =>
        Dispatch.Grains.Transports.Email.EmailAddress.IsValid(value?.Trim());

    public static bool IsTimezone(string zone) => Time.Zone(zone) is not null;
}

public class NewUserRequest
{
    public string? Email { get; set; }
    public string? Password { get; set; }
    public string? FirstName { get; set; }
    public string? LastName { get; set; }
    public Guid? RoleId { get; set; }

    public NewUser ToNewUser() => new(Email!.Trim(), Password!, FirstName!.Trim(), LastName!.Trim(), RoleId ?? Guid.Empty);
}

/// <summary>A new user's fields; the role is required where the caller chooses it (not for a company's first admin).</summary>
public sealed class NewUserRules : AbstractValidator<NewUserRequest>
{
    public NewUserRules(bool roleRequired)
    {
        RuleFor(r => r.Email).Must(IdentityRules.IsEmail).WithMessage("email must be an email address.");
        RuleFor(r => r.FirstName).Must(n => !string.IsNullOrWhiteSpace(n)).WithMessage("firstName is required.");
        RuleFor(r => r.LastName).Must(n => !string.IsNullOrWhiteSpace(n)).WithMessage("lastName is required.");
        if (roleRequired) RuleFor(r => r.RoleId).NotNull().WithMessage("roleId is required.");
        RuleFor(r => r.Password).NotNull().WithMessage("password is required.");
        RuleFor(r => r.Password).Must((r, p) => p is null || PasswordPolicy.Check(p, r.Email ?? "") is null)
            .WithMessage((r, p) => $"The password is too weak: {PasswordPolicy.Check(p!, r.Email ?? "")}.");
    }
}
