using Dispatch.Grains.Routing;

namespace Dispatch.Tests.Routing;

public sealed class RouterTests
{
    private static readonly TimeZoneInfo Chicago = TimeZoneInfo.FindSystemTimeZoneById("America/Chicago");
    private static readonly Guid Email = Guid.NewGuid(), Hook = Guid.NewGuid(), Sms = Guid.NewGuid();

    private static CompanyRouting Company(IReadOnlyList<RoutingRule> rules, params RoutingRecipient[] recipients) => new(Chicago,
        [new RoutingChannel(Email, "email"), new RoutingChannel(Hook, "webhook"), new RoutingChannel(Sms, "sms")], rules, recipients);

    [Theory]
    [InlineData("22:00", "06:00", "23:30", true)]
    [InlineData("22:00", "06:00", "05:59", true)]
    [InlineData("22:00", "06:00", "06:00", false)]
    [InlineData("22:00", "06:00", "12:00", false)]
    [InlineData("08:00", "17:00", "08:00", true)]
    [InlineData("08:00", "17:00", "17:00", false)]
    [InlineData("00:00", "00:00", "13:37", true)]
    public void Windows_are_half_open_and_may_run_across_midnight(string start, string end, string at, bool inside) =>
        Assert.Equal(inside, Router.InWindow(TimeOnly.Parse(start), TimeOnly.Parse(end), TimeOnly.Parse(at)));

    [Theory]
    // 2026-03-08: Chicago springs forward at 02:00 CST (08:00 UTC) to 03:00 CDT.
    [InlineData("2026-03-08T07:30:00Z", true)]  // 01:30 CST, inside a night window 22:00–07:00
    [InlineData("2026-03-08T12:30:00Z", false)] // 07:30 CDT: outside, though it would be 06:30 in standard time
    [InlineData("2026-03-08T11:30:00Z", true)]  // 06:30 CDT
    // 2026-11-01: back at 02:00 CDT (07:00 UTC) to 01:00 CST.
    [InlineData("2026-11-01T12:30:00Z", true)]  // 06:30 CST
    [InlineData("2026-11-01T13:30:00Z", false)] // 07:30 CST
    public void A_window_is_read_on_the_companys_wall_clock_across_dst_changes(string utc, bool matches)
    {
        var rule = new RoutingRule(Sms, null, null, new TimeOnly(22, 0), new TimeOnly(7, 0));

        Assert.Equal(matches, Router.Matches(rule, "critical", null, DateTimeOffset.Parse(utc), Chicago));
    }

    [Fact]
    public void Rules_filter_by_priority_and_type_and_a_company_without_rules_uses_every_channel()
    {
        var now = DateTimeOffset.Parse("2026-11-22T15:00:00Z");
        var rules = new[]
        {
            new RoutingRule(Email, ["irod", "critical"], null, null, null),
            new RoutingRule(Hook, null, ["gas-leak"], null, null),
        };

        Assert.Equal([Email], Router.EligibleChannels(Company(rules), "critical", "fire", now));
        Assert.Equal(new[] { Email, Hook }.Order(), Router.EligibleChannels(Company(rules), "irod", "gas-leak", now).Order());
        Assert.Empty(Router.EligibleChannels(Company(rules), "routine_special", null, now));
        Assert.Equal(3, Router.EligibleChannels(Company([]), "routine_special", null, now).Count);
    }

    [Fact]
    public void Preferences_order_the_channels_all_at_once_or_failing_over_and_others_get_email_and_webhook()
    {
        var now = DateTimeOffset.Parse("2026-11-22T15:00:00Z");
        var allAtOnce = new RoutingRecipient(Guid.NewGuid(), [new(Guid.NewGuid(), Hook, 2, "all"), new(Guid.NewGuid(), Sms, 1, "all")]);
        var failover = new RoutingRecipient(Guid.NewGuid(), [new(Guid.NewGuid(), Sms, 1, "failover"), new(Guid.NewGuid(), Email, 2, "failover")]);
        var none = new RoutingRecipient(Guid.NewGuid(), []);

        var plan = Router.Plan(Company([], allAtOnce, failover, none), "critical", null, now).ToDictionary(p => p.UserId);

        Assert.Equal([(Sms, 1, true), (Hook, 2, true)], plan[allAtOnce.UserId].Deliveries.Select(d => (d.ChannelId, d.Sequence, d.Queued)));
        Assert.Equal([(Sms, 1, true), (Email, 2, false)], plan[failover.UserId].Deliveries.Select(d => (d.ChannelId, d.Sequence, d.Queued)));
        Assert.Equal([Email, Hook], plan[none.UserId].Deliveries.Select(d => d.ChannelId));
    }

    [Fact]
    public void A_recipient_whose_only_channels_are_out_of_window_is_still_reached_by_email_and_nobody_is_planned_without_a_channel()
    {
        var night = DateTimeOffset.Parse("2026-11-22T15:00:00Z"); // 09:00 in Chicago
        var smsAtNight = new RoutingRule(Sms, null, null, new TimeOnly(22, 0), new TimeOnly(7, 0));
        var emailAlways = new RoutingRule(Email, null, null, null, null);
        var user = new RoutingRecipient(Guid.NewGuid(), [new(Guid.NewGuid(), Sms, 1, "all")]);

        Assert.Equal([Email], Router.Plan(Company([smsAtNight, emailAlways], user), "irod", null, night).Single().Deliveries.Select(d => d.ChannelId));
        Assert.Empty(Router.Plan(Company([smsAtNight], user), "irod", null, night));
    }
}
