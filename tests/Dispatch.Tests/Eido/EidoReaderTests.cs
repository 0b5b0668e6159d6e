using System.Text.Json.Nodes;
using Dispatch.Grains.Eido;

namespace Dispatch.Tests.Eido;

/// <summary>EIDOs as NG9-1-1 systems send them — both key casings, components by value and by reference, broken PIDF-LO — read as calls.</summary>
public sealed class EidoReaderTests
{
    public static JsonNode Sample(string name) => JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Eido", "Samples", name)))!;

    [Fact]
    public void A_gas_leak_with_a_civic_address_reads_as_a_dispatcher_needs_it()
    {
        var call = EidoReader.Read(Sample("gas-leak-civic.json"));
        var r = call.Record;
        Assert.Equal("urn:emergency:uid:incidentid:2026-120601:psap.springfield.il.us", r.ExternalId); // the early schema's incidentTrackingIdentifier
        Assert.Equal("1204 N Walnut St, Unit 2, Springfield, IL 62702, US", r.Address);
        Assert.Equal("Jefferson St", r.CrossStreets);
        Assert.Equal(("Fire-Gas", "GASLK", "GAS LEAK - INSIDE STRUCTURE", 9), (r.Type, call.TypeCode, r.Nature, call.PriorityNumber));
        Assert.Equal(("SPF-2026-120601", "DISP"), (r.CallNumber, r.Status));
        Assert.Equal(("+12175550143", "Maria Lindqvist"), (r.CallerPhone, r.CallerName));
        Assert.Equal(new DateTimeOffset(2026, 12, 6, 3, 11, 2, TimeSpan.Zero), r.ReceivedAt);
        Assert.Equal(new DateTimeOffset(2026, 12, 6, 3, 12, 40, 120, TimeSpan.Zero), call.LastUpdated); // "LastUpdateTimeStamp", capitalised
        // Notes oldest first, HTML made text.
        Assert.Equal(["Strong odor of gas in basement & hissing from the meter.", "Caller evacuated; neighbours on both sides still inside."],
            r.Narrative.Select(n => n.Text));
        Assert.Equal(r.Narrative[0].Text, r.Description);
        Assert.Null(r.Priority); // the subscription's mapping decides it
        Assert.Empty(r.Warnings);
        Assert.Contains("\"incidentTrackingIdentifier\"", r.RawXml); // the EIDO itself is kept (encrypted at rest)
    }

    [Fact]
    public void A_crash_with_a_geodetic_point_and_a_location_by_reference_takes_the_later_schemas_own_id()
    {
        var call = EidoReader.Read(Sample("crash-geodetic.json"));
        var r = call.Record;
        Assert.Equal("urn:emergency:uid:incidentid:8c31f0d2:psap.county.example", r.ExternalId);
        Assert.Equal((39.78172, -89.65015), (r.Latitude!.Value, r.Longitude!.Value));
        Assert.Null(r.Address);
        Assert.Equal("https://lis.carrier.example/location/8c31f0d2", r.Extra["locationByReference"]);
        Assert.Equal("Northbound shoulder past mile marker 41", r.Extra["locationDescription"]);
        Assert.Equal(["MEDIC 12", "ENGINE 4"], r.Units);
        Assert.Equal(("Dispatched", 7), (r.Status, call.PriorityNumber)); // incidentComponent as the schema has it: one object
        Assert.Equal(new DateTimeOffset(2026, 12, 6, 10, 2, 11, 500, TimeSpan.Zero), call.LastUpdated); // "lastUpdateTimeStamp", with an offset
        // The agentReference names an agent the EIDO does not carry: not read, so not a warning.
        Assert.Empty(r.Warnings);
    }

    [Fact]
    public void An_eido_with_broken_parts_is_kept_with_a_warning_for_each_part_it_could_not_read()
    {
        var r = EidoReader.Read(Sample("malformed-pidf.json")).Record;
        Assert.Equal("urn:emergency:uid:incidentid:77aa01:psap.allegheny.example", r.ExternalId);
        Assert.Equal("Fire-Gas", r.Type);
        Assert.Null(r.Address);
        Assert.Null(r.Latitude);
        Assert.Collection(r.Warnings.Order(),
            w => Assert.Contains("incidentComponent.incidentCommonPriorityNumber: '\"high\"' is not a whole number", w),
            w => Assert.Contains("location.locationByValue: the PIDF-LO is not well-formed XML", w),
            w => Assert.Contains("notesComponent[0].lastUpdateTimeStamp: 'yesterday' is not an ISO 8601 time", w));
        Assert.Equal("Smell of gas reported by passer-by.", r.Description); // a note given as one object, not an array
    }

    [Fact]
    public void Components_given_by_reference_are_resolved_and_a_reference_to_nothing_is_a_warning()
    {
        var r = EidoReader.Read(Sample("references.json")).Record;
        // The incident's own location (by $ref), not the first one listed (the call's routing location).
        Assert.Equal("Corwith Yard, 3500 S Kedzie Ave, Chicago, IL, US", r.Address);
        Assert.Equal(41.821, r.Latitude!.Value, 3); // the polygon's centre
        Assert.Equal(-87.703, r.Longitude!.Value, 3);
        Assert.Equal("Placard 1075 visible.\nWind from the west.", r.Description);
        Assert.Empty(r.Warnings); // personReference is not read: a dangling one there is not this reader's concern
    }

    [Fact]
    public void A_reference_the_eido_does_not_resolve_is_named_in_a_warning()
    {
        var eido = Sample("references.json");
        eido["incidentComponent"]!["locationReference"] = new JsonArray(new JsonObject { ["$ref"] = "loc-gone" });
        var r = EidoReader.Read(eido).Record;
        Assert.Contains(r.Warnings, w => w.Contains("incidentComponent.locationReference: the reference 'loc-gone' names no component"));
        Assert.Equal("41, -87", $"{r.Latitude}, {r.Longitude}"); // the first location listed, then
    }

    [Fact]
    public void An_eido_that_names_no_incident_is_refused_with_a_reason()
    {
        var eido = Sample("crash-geodetic.json").AsObject();
        eido.Remove("$id");
        Assert.Contains("neither incidentTrackingIdentifier nor $id", Assert.Throws<EidoUnusableException>(() => EidoReader.Read(eido)).Message);
        Assert.Throws<EidoUnusableException>(() => EidoReader.Read(JsonNode.Parse("[1, 2]")));
    }

    [Fact]
    public void The_mapping_matches_types_without_case_and_takes_a_rules_priority_before_the_bands()
    {
        var gasco = Guid.NewGuid();
        var towing = Guid.NewGuid();
        var mapping = new EidoMapping(
            [new EidoTypeRule("fire-gas", Companies: [gasco]), new EidoTypeRule("MVA-PI", "dangerous", [towing]), new EidoTypeRule("Hazmat-Spill")],
            [new EidoPriorityBand(8, "irod"), new EidoPriorityBand(5, "critical")], "routine_special");
        Assert.Empty(mapping.Validate());

        var gas = mapping.Decide("Fire-Gas", "GASLK", 9);
        Assert.Equal(("irod", true), (gas.Priority, gas.Raises));
        Assert.Equal([gasco], gas.Companies);
        Assert.Equal("dangerous", mapping.Decide("Traffic-Crash", "MVA-PI", 9).Priority); // matched on the internal code; the rule's priority wins
        Assert.False(mapping.Decide("Hazmat-Spill", null, 8).Raises); // a rule without companies keeps the call for a dispatcher
        Assert.Equal(("critical", false), (mapping.Decide("Medical", null, 6).Priority, mapping.Decide("Medical", null, 6).Raises));
        Assert.Equal("routine_special", mapping.Decide(null, null, null).Priority);

        var wrong = new EidoMapping([new EidoTypeRule("", "urgent")], [new EidoPriorityBand(1, "soon"), new EidoPriorityBand(1, "irod")], "later");
        Assert.Equal(["mapping.defaultPriority", "mapping.priorities", "mapping.priorities[0].priority", "mapping.rules[0].priority", "mapping.rules[0].type"],
            wrong.Validate().Select(e => e.Field).Order());
    }

    [Fact]
    public void Pidf_lo_shapes_and_hostile_documents_are_read_or_refused_plainly()
    {
        const string gml = "xmlns=\"urn:ietf:params:xml:ns:pidf\" xmlns:gml=\"http://www.opengis.net/gml\" xmlns:gs=\"http://www.opengis.net/pidflo/1.0\"";
        var circle = PidfLo.Read($"<presence {gml}><gs:Circle><gml:pos>42.5 -71.25</gml:pos><gs:radius>15</gs:radius></gs:Circle></presence>", "x");
        Assert.Equal((42.5, -71.25), (circle.Latitude!.Value, circle.Longitude!.Value));
        Assert.Contains("out of range", PidfLo.Read($"<presence {gml}><gml:Point><gml:pos>142.5 -71.25</gml:pos></gml:Point></presence>", "x").Warnings.Single());
        Assert.Contains("not well-formed", PidfLo.Read("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><presence>&e;</presence>", "x").Warnings.Single());
        Assert.Contains("neither a civic address nor a geodetic position", PidfLo.Read("<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"/>", "x").Warnings.Single());
    }
}
