using Dispatch.Grains.Incidents;
using NetArchTest.Rules;

namespace Dispatch.Tests.Infrastructure;

/// <summary>
/// Who may write what, held by the build and checked here: the Api reaches grain interfaces and read-side queries only, and an
/// incident's rows are written through its grain.
/// </summary>
public sealed class ArchitectureTests
{
    private static readonly System.Reflection.Assembly Grains = typeof(IIncidentGrain).Assembly;
    private static readonly System.Reflection.Assembly Api = typeof(Dispatch.Api.Http.SiloClient).Assembly;

    /// <summary>The code that writes an incident, its assignments, notifications and their acknowledgement and escalation state.</summary>
    private static readonly string[] IncidentWriters =
    [
        "Dispatch.Grains.Incidents.IncidentStore",
        "Dispatch.Grains.Incidents.IncidentCreation",
        "Dispatch.Grains.Routing.Assignments",
        "Dispatch.Grains.Notifications.Acknowledgements",
        "Dispatch.Grains.Escalation.EscalationEngine",
        "Dispatch.Grains.Escalation.PsapAlerts",
        "Dispatch.Grains.Cfs.CfsUpdates",
    ];

    private static readonly string[] OtherWriteStores =
    [
        "Dispatch.Grains.Incidents.Communications",
        "Dispatch.Grains.Incidents.IncidentInbox",
        "Dispatch.Grains.Notifications.DeliveryQueue",
        "Dispatch.Grains.Cfs.CfsImports",
        "Dispatch.Grains.Storage.OrphanedWork",
        "Dispatch.Grains.Commands.Heartbeats",
    ];

    private static readonly string[] GrainClasses =
    [
        "Dispatch.Grains.Incidents.IncidentGrain",
        "Dispatch.Grains.Notifications.NotificationGrain",
        "Dispatch.Grains.Agencies.AgencyGrain",
        "Dispatch.Grains.Commands.CommandConnectionGrain",
        "Dispatch.Grains.Cfs.CfsInboxGrain",
    ];

    [Fact]
    public void The_api_reaches_grain_interfaces_and_read_side_queries_only()
    {
        var result = Types.InAssembly(Api).ShouldNot().HaveDependencyOnAny([.. IncidentWriters, .. OtherWriteStores, .. GrainClasses]).GetResult();
        Assert.True(result.IsSuccessful, "Api types that reach a write store or a grain class: " + string.Join(", ", result.FailingTypeNames ?? []));
    }

    [Fact]
    public void The_write_stores_and_grain_classes_are_internal_to_the_grains()
    {
        var exposed = Grains.GetExportedTypes().Select(t => t.FullName!).Where(n => IncidentWriters.Concat(OtherWriteStores).Concat(GrainClasses).Contains(n));
        Assert.Empty(exposed);
    }

    [Fact]
    public void An_incident_is_written_through_its_grain()
    {
        // The grain, and the writers it calls (which call each other), and read-side queries over the same rows. A CAD import, an
        // EIDO or a send that found its recipient unreachable leaves its work in the incident's inbox (IncidentInbox), which the
        // grain applies.
        var allowed = new Dictionary<string, string>
        {
            ["Dispatch.Grains.Incidents.IncidentGrain"] = "the single writer",
            ["Dispatch.Grains.Incidents.IncidentViews"] = "reads",
            ["Dispatch.Grains.Cfs.CfsRecords"] = "reads the incident a call is linked to",
            ["Dispatch.Grains.Commands.Heartbeats"] = "writes heartbeat alerts: notifications about a command connection, of no incident",
        };
        foreach (var writer in IncidentWriters) allowed[writer] = "a writer the grain calls";

        var writers = Types.InAssembly(Grains).That().HaveDependencyOnAny(IncidentWriters).GetTypes()
            .Select(t => t.FullName!.Split('+')[0])
            .Where(n => !n.StartsWith("OrleansCodeGen.", StringComparison.Ordinal))
            .Distinct()
            .ToList();
        Assert.Contains("Dispatch.Grains.Incidents.IncidentGrain", writers);
        var outside = writers.Where(n => !allowed.ContainsKey(n)).ToList();
        Assert.True(outside.Count == 0, "incident rows written outside the incident's grain by: " + string.Join(", ", outside));
    }

    [Fact]
    public void Every_grain_message_is_an_orleans_contract()
    {
        // Every Dispatch type a grain method takes or returns, and every Dispatch type inside those, is [GenerateSerializer]
        // (the JSON codec is registered for System.Text.Json's nodes only: a type left out would fail its first call).
        var seen = new HashSet<Type>();
        void Visit(Type type)
        {
            if (type.IsGenericType) foreach (var argument in type.GetGenericArguments()) Visit(argument);
            if (type.IsArray) Visit(type.GetElementType()!);
            if (type.Namespace?.StartsWith("Dispatch.", StringComparison.Ordinal) != true || type.IsInterface || !seen.Add(type)) return;
            foreach (var property in type.GetProperties()) Visit(property.PropertyType);
        }
        var grainInterfaces = Grains.GetExportedTypes().Where(t => t.IsInterface && typeof(Orleans.IGrain).IsAssignableFrom(t)).ToList();
        Assert.NotEmpty(grainInterfaces);
        foreach (var method in grainInterfaces.SelectMany(i => i.GetMethods()))
        {
            Visit(method.ReturnType);
            foreach (var parameter in method.GetParameters()) Visit(parameter.ParameterType);
        }
        Assert.Contains(typeof(IncidentDetail), seen);
        var plain = seen.Where(t => !t.IsEnum && t.GetCustomAttributes(typeof(Orleans.GenerateSerializerAttribute), false).Length == 0)
            .Select(t => t.FullName).ToList();
        Assert.True(plain.Count == 0, "grain messages without [GenerateSerializer]: " + string.Join(", ", plain));
    }
}
