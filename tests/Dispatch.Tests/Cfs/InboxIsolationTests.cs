using System.Net;
using Dapper;
using Dispatch.Grains.Cfs;
using Dispatch.Grains.Identity;
using Dispatch.Tests.Infrastructure;
using Npgsql;

namespace Dispatch.Tests.Cfs;

/// <summary>An inbox lives under the configured root, is normalised, and belongs to one configuration: no PSAP reads another's CAD exports.</summary>
public sealed class InboxIsolationTests() : IdentityHost(new Dictionary<string, string?> { [CfsInboxRoot.Setting] = Root })
{
    private static readonly string Root = Path.Combine(Dispatch.Testing.TestRun.Root, "inbox-root");
    private readonly string _dir = Path.Combine(Root, Guid.NewGuid().ToString("N")); // this test's folders

    private static object Configuration(string inboxPath) =>
        new { name = "CAD", inboxPath, fieldMappings = new { fields = new { externalId = new { xpath = "@id" } } } };

    public override Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        return base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
        try { Directory.Delete(Root); } catch (IOException) { } // the last test out removes the root
    }

    [Fact]
    public async Task Inboxes_outside_the_root_inside_another_agencys_or_through_a_link_are_refused()
    {
        var metro = Directory.CreateDirectory(Path.Combine(_dir, "metro")).FullName;
        var county = Directory.CreateDirectory(Path.Combine(_dir, "county")).FullName;
        Directory.CreateDirectory(Path.Combine(county, "nested"));
        Directory.CreateSymbolicLink(Path.Combine(_dir, "sneaky"), county);
        Directory.CreateSymbolicLink(Path.Combine(_dir, "escape"), "/etc");
        var relative = Path.GetFileName(_dir);
        using var admin = await AsAdminAsync();

        // Another PSAP owns "county".
        await using (var c = new NpgsqlConnection(ConnectionString))
        {
            var other = await c.ExecuteScalarAsync<Guid>("insert into agencies (name, slug, agency_type) values ('County 911', 'county-911', 'psap') returning id");
            await c.ExecuteAsync("""
                insert into users (agency_id, role_id, email, password_hash)
                select @other, id, 'chief@county911.example', @hash from roles where slug = 'psap-admin' and agency_id is null
                """, new { other, hash = Users.HashPassword("the county chief's password") });
        }
        using var countyAdmin = As("Bearer " + (await LoginAsync("chief@county911.example", "the county chief's password")).AccessToken);
        var countyOwn = await SendAsync(countyAdmin, HttpMethod.Post, "/api/v1/cfs-configurations", Configuration(county));

        var refused = new Dictionary<string, string>
        {
            ["/root"] = "/root", ["/etc"] = "/etc", ["dotdot"] = Path.Combine(Root, "..", "..", "etc"), ["tmp-dotdot"] = "/tmp/../etc",
            ["root itself"] = Root, ["another's inbox"] = county, ["inside another's"] = Path.Combine(county, "nested"),
            ["relative into another's"] = $"{relative}/county/nested", ["link to another's"] = Path.Combine(_dir, "sneaky"), ["link out"] = Path.Combine(_dir, "escape"),
        };
        var answers = new Dictionary<string, (HttpStatusCode, string)>();
        foreach (var (name, path) in refused)
        {
            var answer = await SendAsync(admin, HttpMethod.Post, "/api/v1/cfs-configurations", Configuration(path));
            answers[name] = (answer.Status, answer.Body?["errors"]?["inboxPath"]?[0]?.GetValue<string>() ?? answer.Body?.ToJsonString() ?? "");
        }
        var own = await SendAsync(admin, HttpMethod.Post, "/api/v1/cfs-configurations", Configuration($"{relative}/metro/../metro"));
        var second = await SendAsync(admin, HttpMethod.Post, "/api/v1/cfs-configurations", Configuration(metro));
        var containing = Directory.CreateDirectory(Path.Combine(metro, "sub")).FullName;
        var ownUpdated = await SendAsync(admin, HttpMethod.Put, $"/api/v1/cfs-configurations/{own.Body?["id"]}", Configuration(containing));

        Assert.Equal(HttpStatusCode.Created, countyOwn.Status);
        Assert.All(answers, a => Assert.True(a.Value.Item1 == HttpStatusCode.BadRequest, $"{a.Key}: {a.Value}"));
        Assert.Contains("inside the CFS inbox root", answers["/root"].Item2);
        Assert.Contains("another configuration's inbox", answers["inside another's"].Item2);
        Assert.DoesNotContain("County", string.Join(' ', answers.Values.Select(v => v.Item2)));
        Assert.Equal(HttpStatusCode.Created, own.Status);
        Assert.Equal(metro, own.Body!["inboxPath"]!.GetValue<string>()); // normalised
        Assert.Equal(HttpStatusCode.BadRequest, second.Status); // one configuration per inbox, within an agency too
        Assert.Equal(HttpStatusCode.OK, ownUpdated.Status); // moving its own inbox is no conflict with itself
    }

    [Fact]
    public void A_stored_inbox_that_a_link_now_leads_out_of_the_root_is_no_longer_inside_it()
    {
        var target = Directory.CreateDirectory(Path.Combine(_dir, "target")).FullName;
        var inboxes = new CfsInboxRoot(_dir);
        var (resolved, _) = inboxes.Resolve("target");

        Assert.True(inboxes.Contains(resolved!));
        Directory.Delete(target);
        Directory.CreateSymbolicLink(target, "/etc");
        Assert.False(inboxes.Contains(resolved!));
    }
}
