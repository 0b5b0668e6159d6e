using Dispatch.Grains.Agencies;
using Dispatch.Grains.Escalation;
using Dispatch.Grains.Routing;

namespace Dispatch.Tests.Routing;

/// <summary>The agency grain's decisions over its configuration in memory: which rule applies, who is in a tier, who hears of an incident.</summary>
public sealed class AgencyConfigurationTests
{
    private static readonly Guid Email = Guid.NewGuid(), Sms = Guid.NewGuid();
    private static readonly Guid Ann = Guid.NewGuid(), Bob = Guid.NewGuid(), Cat = Guid.NewGuid(), Viewer = Guid.NewGuid();
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-12-04T15:00:00Z");

    private static EscalationRule Rule(string[]? priorities, params EscalationTier[] tiers) =>
        new(Guid.NewGuid(), Guid.Empty, priorities, 60, tiers, [], 0, IsActive: true, 1);

    private static AgencyConfiguration Configuration(params EscalationRule[] rules) => new(Guid.NewGuid(), 7, "America/Chicago",
        [new RoutingChannel(Email, "email"), new RoutingChannel(Sms, "sms")], [],
        [new ConfiguredUser(Ann, "responder", true), new ConfiguredUser(Bob, "supervisor", true), new ConfiguredUser(Cat, "responder", true),
         new ConfiguredUser(Viewer, "viewer", false)],
        new Dictionary<Guid, IReadOnlyList<RoutingPreference>> { [Bob] = [new RoutingPreference(Guid.NewGuid(), Sms, 1, Router.AllAtOnce)] },
        rules);

    [Fact]
    public void The_rule_for_a_priority_is_the_one_whose_filter_covers_it_or_the_one_without_a_filter()
    {
        var critical = Rule(["critical", "irod"], new EscalationTier([Ann], null));
        var rest = Rule(null, new EscalationTier([Bob], null));
        var configuration = Configuration(critical, rest);

        Assert.Same(critical, configuration.RuleFor("irod"));
        Assert.Same(rest, configuration.RuleFor("routine_special"));
        Assert.Null(Configuration(critical).RuleFor("dangerous"));
    }

    [Fact]
    public void A_tier_is_its_named_users_and_its_roles_holders_in_address_order_and_only_the_first_falls_back_to_everyone_who_may_acknowledge()
    {
        var configuration = Configuration();

        Assert.Equal([Ann, Bob, Cat], configuration.TierUsers(new EscalationTier([Bob], ["responder"]), fallbackToEveryone: false));
        Assert.Equal([Ann, Bob, Cat], configuration.TierUsers(new EscalationTier([Guid.NewGuid()], null), fallbackToEveryone: true));
        Assert.Empty(configuration.TierUsers(new EscalationTier([Guid.NewGuid()], ["nobody"]), fallbackToEveryone: false));
    }

    [Fact]
    public void A_first_tier_plan_carries_its_rule_and_reaches_each_user_on_their_preferred_channel_or_by_email()
    {
        var rule = Rule(null, new EscalationTier(null, ["supervisor"]), new EscalationTier([Ann], null));
        var plan = Configuration(rule).Plan(RoutingRequest.FirstTier("critical", null, Now));

        Assert.Same(rule, plan.Rule);
        var bob = Assert.Single(plan.Notifications);
        Assert.Equal(Bob, bob.UserId);
        Assert.Equal([Sms], bob.Deliveries.Select(d => d.ChannelId));

        var noRule = Configuration().Plan(RoutingRequest.FirstTier("critical", null, Now));
        Assert.Null(noRule.Rule);
        Assert.Equal([Ann, Bob, Cat], noRule.Notifications.Select(n => n.UserId)); // not the viewer, who may not acknowledge
        Assert.Equal([Email], noRule.Notifications.Single(n => n.UserId == Ann).Deliveries.Select(d => d.ChannelId));
    }
}
