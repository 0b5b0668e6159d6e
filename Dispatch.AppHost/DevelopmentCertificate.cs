using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;

namespace Dispatch.AppHost;

/// <summary>
/// Aspire looks for a trusted ASP.NET Core development certificate at every start and, without one, shows a red "No trusted
/// development certificate" banner in the dashboard (even though this AppHost serves everything over http on loopback). On a
/// fresh machine the first start makes one and trusts it for the current user, as `dotnet dev-certs https --trust` does by hand.
/// </summary>
public static class DevelopmentCertificate
{
    // The extension ASP.NET Core stamps on its development certificates.
    private const string DevelopmentCertificateOid = "1.3.6.1.4.1.311.84.1.1";

    public static void EnsureTrusted()
    {
        if (IsTrusted()) return;
        Console.WriteLine("Creating and trusting an ASP.NET Core development certificate for this user (dotnet dev-certs https --trust)...");
        var start = new ProcessStartInfo("dotnet", ["dev-certs", "https", "--trust"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        try
        {
            using var process = Process.Start(start)!;
            process.StandardOutput.ReadToEnd();
            process.StandardError.ReadToEnd();
            if (!process.WaitForExit(TimeSpan.FromSeconds(60))) process.Kill();
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Not fatal: the dashboard shows its banner, everything else works.
        }
        if (!IsTrusted())
            Console.WriteLine("No trusted development certificate: the dashboard will say so; everything runs over http regardless.");
    }

    private static bool IsTrusted()
    {
        using var root = new X509Store(StoreName.Root, StoreLocation.CurrentUser);
        try
        {
            root.Open(OpenFlags.ReadOnly | OpenFlags.OpenExistingOnly);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return false; // no store yet: nothing trusted
        }
        var now = DateTime.Now;
        return root.Certificates.Any(c => c.Extensions[DevelopmentCertificateOid] is not null && c.NotBefore <= now && now < c.NotAfter);
    }
}
