using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using Dispatch.Tests.Infrastructure;
using Npgsql;

namespace Dispatch.Tests.Escalation;

public sealed class EscalationRulesTests : IdentityHost
{
    [Fact]
    public async Task One_rule_per_priority_validated_readable_by_the_psap_and_its_first_tier_is_who_gets_notified_with_a_deadline()
    {
        var (gasco, email, password) = await OnboardCompanyAsync("gasco");
        using var company = As("Bearer " + (await LoginAsync(email, password)).AccessToken);
        using var psap = await AsAdminAsync();
        var psapUser = (await SendAsync(psap, HttpMethod.Get, "/api/v1/users")).Body!["items"]![0]!["id"]!.GetValue<Guid>();
        var roles = (await SendAsync(company, HttpMethod.Get, "/api/v1/roles")).Body!["items"]!.AsArray();
        var responderRole = roles.First(r => r!["slug"]!.GetValue<string>() == "company-responder")!["id"]!.GetValue<Guid>();
        var oncall = (await SendAsync(company, HttpMethod.Post, "/api/v1/users",
            new { email = "oncall@gasco.example", password = "always on call here", firstName = "On", lastName = "Call", roleId = responderRole })).Body!["id"]!.GetValue<Guid>();
        await SendAsync(company, HttpMethod.Post, "/api/v1/transport-channels", new { transportType = "email", name = "mail", config = new { } });

        var tooFast = await SendAsync(company, HttpMethod.Post, "/api/v1/escalation-rules",
            new { ackTimeoutSeconds = 5, escalationOrder = new[] { new { userIds = new[] { oncall } } } });
        var strangerPsapUser = await SendAsync(company, HttpMethod.Post, "/api/v1/escalation-rules",
            new { ackTimeoutSeconds = 120, escalationOrder = new[] { new { userIds = new[] { oncall } } }, notifyPsapUserIds = new[] { Guid.NewGuid() } });
        var rule = await SendAsync(company, HttpMethod.Post, "/api/v1/escalation-rules", new
        {
            priorityFilter = new[] { "irod", "critical" }, ackTimeoutSeconds = 120,
            escalationOrder = new object[] { new { userIds = new[] { oncall } }, new { roleSlugs = new[] { "company-admin" } } },
            notifyPsapUserIds = new[] { psapUser },
        });
        var overlapping = await SendAsync(company, HttpMethod.Post, "/api/v1/escalation-rules",
            new { ackTimeoutSeconds = 60, escalationOrder = new[] { new { roleSlugs = new[] { "company-admin" } } } });
        var psapReads = await SendAsync(psap, HttpMethod.Get, $"/api/v1/escalation-rules?companyId={gasco}");

        Assert.Equal(HttpStatusCode.BadRequest, tooFast.Status);
        Assert.Equal(HttpStatusCode.BadRequest, strangerPsapUser.Status);
        Assert.True(strangerPsapUser.Body!["errors"]!.AsObject().ContainsKey("notifyPsapUserIds"));
        Assert.Equal(HttpStatusCode.Created, rule.Status);
        Assert.Equal(HttpStatusCode.Conflict, overlapping.Status);
        Assert.Equal([rule.Body!["id"]!.GetValue<Guid>()], psapReads.Body!["items"]!.AsArray().Select(r => r!["id"]!.GetValue<Guid>()));

        var before = DateTimeOffset.UtcNow;
        var critical = (await SendAsync(psap, HttpMethod.Post, "/api/v1/incidents", new { priority = "critical", title = "Leak", agencyIds = new[] { gasco } }))
            .Body!["companies"]![0]!["notifications"]!.AsArray();
        var routine = (await SendAsync(psap, HttpMethod.Post, "/api/v1/incidents", new { priority = "routine_special", title = "Meter", agencyIds = new[] { gasco } }))
            .Body!["companies"]![0]!["notifications"]!.AsArray();

        var first = Assert.Single(critical); // the first tier only: the on-call responder, not the admin
        Assert.Equal(oncall, first!["notifiedUserId"]!.GetValue<Guid>());
        var due = first["escalationDueAt"]!.GetValue<DateTimeOffset>();
        Assert.InRange(due, before.AddSeconds(119), DateTimeOffset.UtcNow.AddSeconds(121));
        Assert.Equal(2, routine.Count); // no rule for routine: everyone who may acknowledge, no deadline
        Assert.All(routine, n => Assert.Null(n!["escalationDueAt"]?.GetValue<DateTimeOffset?>()));
        await using var c = new NpgsqlConnection(ConnectionString);
        Assert.Contains("escalation_rule.created", await c.QueryAsync<string>("select action from audit_logs"));
    }
}
