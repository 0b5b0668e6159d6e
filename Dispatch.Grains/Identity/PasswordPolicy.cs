namespace Dispatch.Grains.Identity;

/// <summary>The rules every password must meet; returns the reason it fails, or null.</summary>
public static class PasswordPolicy
{
    public const int MinimumLength = 12;

    private static readonly HashSet<string> Trivial = new(StringComparer.OrdinalIgnoreCase)
    {
        "password1234", "passwordpassword", "123456789012", "qwertyuiopas", "letmeinletmein", "changemechangeme",
        "administrator", "dispatch1234", "welcome12345", "iloveyou1234", "adminadminadmin",
    };

    public static string? Check(string password, string email)
    {
        if (password.Length < MinimumLength)
            return $"it must be at least {MinimumLength} characters long";
        var localPart = email.Split('@')[0];
        if (string.Equals(password, email, StringComparison.OrdinalIgnoreCase) ||
            (localPart.Length >= 4 && password.Contains(localPart, StringComparison.OrdinalIgnoreCase)))
            return "it must not contain the email address";
        if (password.Distinct().Count() < 4)
            return "it repeats too few different characters";
        if (Trivial.Contains(password))
            return "it is a well-known password";
        return null;
    }
}
