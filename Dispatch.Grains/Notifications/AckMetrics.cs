using System.Diagnostics.Metrics;

namespace Dispatch.Grains.Notifications;

/// <summary>Acknowledgement metrics, recorded by whichever process took the acknowledgement, after it committed.</summary>
public static class AckMetrics
{
    private static readonly Meter Meter = new("Dispatch.Acknowledgements");
    private static readonly Histogram<double> TimeToAck = Meter.CreateHistogram<double>("dispatch.ack.time_to_ack", "s",
        "From a company's assignment to its first acknowledgement, by incident priority and acknowledgement source.");
    private static readonly Counter<long> Acks = Meter.CreateCounter<long>("dispatch.acks", "{acknowledgement}",
        "Acknowledgements taken, by source and whether they were the company's first.");

    public static void Record(Acknowledgement ack)
    {
        if (ack.Kind == "psap_alert") return; // a PSAP user saw an alert: not a company's acknowledgement
        Acks.Add(1, new("dispatch.ack.source", ack.AckSource), new("dispatch.ack.first", !ack.Repeated));
        if (ack.TimeToAck is { } elapsed)
            TimeToAck.Record(elapsed.TotalSeconds, new("dispatch.priority", ack.Priority), new("dispatch.ack.source", ack.AckSource));
    }
}
