using Dispatch.Grains.Incidents;

namespace Dispatch.Tests.Incidents;

public sealed class IncidentStateTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 8, 0, 0, TimeSpan.Zero);

    private static IncidentState Open() =>
        new(Guid.NewGuid(), Guid.NewGuid(), IncidentPriority.Critical, IncidentStatus.Open, null, "Leak", "", null, 1, T0, null, null, null);

    [Fact]
    public void An_incident_goes_open_acknowledged_resolved_closed()
    {
        var closed = Open().Acknowledge(T0.AddMinutes(1)).Resolve(T0.AddMinutes(2)).Close(T0.AddMinutes(3));

        Assert.Equal(IncidentStatus.Closed, closed.Status);
        Assert.Equal((T0.AddMinutes(1), T0.AddMinutes(2), T0.AddMinutes(3)), (closed.AcknowledgedAt, closed.ResolvedAt, closed.ClosedAt));
    }

    [Fact]
    public void Acknowledging_again_keeps_the_first_acknowledgement()
    {
        var once = Open().Acknowledge(T0);

        Assert.Same(once, once.Acknowledge(T0.AddMinutes(5)));
    }

    [Fact]
    public void A_company_added_after_everyone_acknowledged_reopens_the_incident_but_not_a_resolved_one()
    {
        var reopened = Open().Acknowledge(T0).Reopen();

        Assert.Equal((IncidentStatus.Open, (DateTimeOffset?)null), (reopened.Status, reopened.AcknowledgedAt));
        Assert.Equal(T0.AddMinutes(9), reopened.Acknowledge(T0.AddMinutes(9)).AcknowledgedAt);
        Assert.Throws<IllegalTransitionException>(() => Open().Resolve(T0).Reopen());
    }

    [Fact]
    public void Illegal_transitions_are_refused()
    {
        Assert.Throws<IllegalTransitionException>(() => Open().Close(T0));
        var closed = Open().Resolve(T0).Close(T0);
        Assert.Throws<IllegalTransitionException>(() => closed.Resolve(T0));
        Assert.Throws<IllegalTransitionException>(() => closed.Reprioritise(IncidentPriority.Irod));
        Assert.Throws<IllegalTransitionException>(() => Open().Resolve(T0).Resolve(T0));
    }
}
