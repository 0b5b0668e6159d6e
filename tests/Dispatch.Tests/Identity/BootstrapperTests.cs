using Dapper;
using Dispatch.Grains.Identity;
using Dispatch.Grains.Storage;
using Dispatch.Tests.Infrastructure;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Dispatch.Tests.Identity;

public sealed class BootstrapperTests : TestDatabase
{
    private static readonly BootstrapOptions Configured = new()
    {
        AgencyName = "Metro 911 Center",
        AdminEmail = "Chief@Metro911.example",
        AdminPassword = "correct horse battery staple",
        Timezone = "America/Chicago",
    };

    private static Bootstrapper BootstrapperFor(DispatchDatabase database, BootstrapOptions options) =>
        new(database, Options.Create(options), NullLogger<Bootstrapper>.Instance);

    [Fact]
    public async Task Empty_database_gets_a_psap_agency_and_an_admin_whose_password_verifies()
    {
        await using var dataSource = await MigratedAsync();

        var admin = await BootstrapperFor(dataSource, Configured).BootstrapAsync();

        Assert.NotNull(admin);
        await using var connection = await dataSource.Owner.OpenConnectionAsync();
        var row = await connection.QuerySingleAsync<(string Email, string PasswordHash, string Slug, string AgencyType, string Timezone, string Role)>("""
            select u.email, u.password_hash, a.slug, a.agency_type, a.timezone, r.slug
            from users u join agencies a on a.id = u.agency_id join roles r on r.id = u.role_id
            """);
        Assert.Equal(("chief@metro911.example", "metro-911-center", "psap", "America/Chicago", "psap-admin"),
            (row.Email, row.Slug, row.AgencyType, row.Timezone, row.Role));
        Assert.DoesNotContain(Configured.AdminPassword!, row.PasswordHash);
        var hasher = new PasswordHasher<BootstrapUser>();
        Assert.Equal(PasswordVerificationResult.Success, hasher.VerifyHashedPassword(admin, row.PasswordHash, Configured.AdminPassword!));
        Assert.Equal(PasswordVerificationResult.Failed, hasher.VerifyHashedPassword(admin, row.PasswordHash, "wrong password here"));
    }

    [Fact]
    public async Task A_database_that_has_agencies_is_left_alone()
    {
        await using var dataSource = await MigratedAsync();
        await BootstrapperFor(dataSource, Configured).BootstrapAsync();

        var second = await BootstrapperFor(dataSource, new BootstrapOptions
        {
            AgencyName = "Another", AdminEmail = "other@example.org", AdminPassword = "a different long secret",
        }).BootstrapAsync();

        Assert.Null(second);
        await using var connection = await dataSource.Owner.OpenConnectionAsync();
        Assert.Equal(1, await connection.ExecuteScalarAsync<int>("select count(*) from agencies"));
        Assert.Equal(1, await connection.ExecuteScalarAsync<int>("select count(*) from users"));
    }

    [Fact]
    public async Task Hosts_bootstrapping_together_create_one_agency()
    {
        await using var dataSource = await MigratedAsync();

        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => BootstrapperFor(dataSource, Configured).BootstrapAsync()));

        Assert.Single(results, r => r is not null);
        await using var connection = await dataSource.Owner.OpenConnectionAsync();
        Assert.Equal(1, await connection.ExecuteScalarAsync<int>("select count(*) from agencies"));
    }

    [Fact]
    public async Task Without_configuration_nothing_is_created()
    {
        await using var dataSource = await MigratedAsync();

        Assert.Null(await BootstrapperFor(dataSource, new BootstrapOptions()).BootstrapAsync());

        await using var connection = await dataSource.Owner.OpenConnectionAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<int>("select count(*) from agencies"));
    }

    [Theory]
    [InlineData("short", "at least 12")]
    [InlineData("chief@metro911.example", "email")]
    [InlineData("aaaaaaaaaaaaaaaa", "different characters")]
    [InlineData("password1234", "well-known")]
    public async Task A_weak_bootstrap_password_is_refused_with_the_reason(string password, string reason)
    {
        await using var dataSource = await MigratedAsync();
        var options = new BootstrapOptions { AgencyName = "X", AdminEmail = Configured.AdminEmail, AdminPassword = password };

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => BootstrapperFor(dataSource, options).BootstrapAsync());

        Assert.Contains(reason, error.Message);
        await using var connection = await dataSource.Owner.OpenConnectionAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<int>("select count(*) from agencies"));
    }
}
