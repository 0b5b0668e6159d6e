using Dispatch.Grains.Cfs;

namespace Dispatch.Tests.Cfs;

/// <summary>A mapping proposed from a sample alone — by structure, names and value shapes — for the three export styles.</summary>
public sealed class CfsMappingProposalTests
{
    private static CfsMappingProposal Propose(string sample) =>
        CfsMappingProposer.Propose(new MemoryStream(CfsMappingLanguageTests.Sample(sample)), CfsMappings.DefaultMaxFileBytes);

    private static IReadOnlyList<CfsRecord> ParseWith(CfsMappingProposal proposal, string sample, TimeZoneInfo zone)
    {
        Assert.Empty(proposal.Mappings.Validate());
        return new GenericXmlParser().Parse(new MemoryStream(CfsMappingLanguageTests.Sample(sample)), proposal.Mappings, zone);
    }

    [Fact]
    public void A_county_export_proposes_its_record_element_identifier_times_phone_coordinates_units_and_narrative_entries()
    {
        var proposal = Propose("county-cad-export.xml");

        Assert.Equal(("/CADExport/CallForService", 2), (proposal.RecordXPath, proposal.RecordCount));
        var paths = proposal.Mappings.Fields.ToDictionary(f => f.Key, f => f.Value.XPath);
        Assert.Equal("CFSNumber", paths["externalId"]);
        Assert.Equal("IncidentNumber", paths["callNumber"]);
        Assert.Equal("CallReceived", paths["receivedAt"]);
        Assert.Null(proposal.Mappings.Fields["receivedAt"].Formats); // ISO 8601 needs no declaration
        Assert.Equal("Caller/Phone", paths["callerPhone"]);
        Assert.Equal(("Location/Latitude", "Location/Longitude"), (paths["latitude"], paths["longitude"]));
        Assert.Equal("Location/CrossStreet1 | Location/CrossStreet2", paths["crossStreets"]);
        Assert.Equal("Units/Unit", paths["units"]);
        Assert.Equal(new FieldMapping("Narrative/Entry", TextXPath: "Text", TimeXPath: "Time"), proposal.Mappings.Fields["narrative"]);
        // Every candidate is offered for the admin to choose from, with the reasons and a few values.
        var received = proposal.Candidates["receivedAt"];
        Assert.Equal(["CallReceived", "Narrative/Entry/Time"], received.Select(c => c.XPath));
        Assert.Contains("its values are ISO 8601 times", received[0].Reasons);
        Assert.Contains("Beat", proposal.Unmapped);
        Assert.Contains(proposal.Notes, n => n.StartsWith("priority values seen: 1, 3"));

        var records = ParseWith(proposal, "county-cad-export.xml", TimeZoneInfo.FindSystemTimeZoneById("America/Chicago"));
        Assert.Equal(["CFS26-004417", "CFS26-004418"], records.Select(r => r.ExternalId));
        Assert.Equal(new DateTimeOffset(2026, 1, 26, 15, 51, 20, TimeSpan.Zero), records[0].ReceivedAt);
        Assert.Equal(2, records[0].Narrative.Count);
    }

    [Fact]
    public void A_namespaced_german_export_proposes_declared_formats_a_wkt_location_an_address_in_parts_and_attribute_times()
    {
        var proposal = Propose("leitstelle-einsatzdaten.xml");

        Assert.Equal("/ELS:Einsatzdaten/ELS:Einsatz", proposal.RecordXPath);
        Assert.Equal("urn:example:leitstelle:einsatz:1", proposal.Mappings.Namespaces!["ELS"]);
        var fields = proposal.Mappings.Fields;
        Assert.Equal("ELS:Einsatznummer", fields["externalId"].XPath);
        Assert.Equal("ELS:Eingang", fields["receivedAt"].XPath);
        Assert.Equal(["yyyyMMddHHmmss"], fields["receivedAt"].Formats!); // found by the shape of 20211106213230
        Assert.Contains(proposal.Candidates["receivedAt"], c => c.XPath == "ELS:Alarmzeit" && c.Reasons.Contains("its values are times in the format dd.MM.yyyy HH:mm:ss"));
        Assert.Equal("ELS:Einsatzort/ELS:Koordinaten", fields["location"].XPath);
        Assert.Equal("ELS:Einsatzort/ELS:Strasse | ELS:Einsatzort/ELS:Hausnummer | ELS:Einsatzort/ELS:Ort", fields["address"].XPath);
        Assert.Equal("ELS:Meldender/ELS:Telefon", fields["callerPhone"].XPath);
        var narrative = fields["narrative"];
        Assert.Equal(("ELS:Bemerkungen/ELS:Bemerkung", "@zeit", null), (narrative.XPath, narrative.TimeXPath, narrative.TextXPath));
        Assert.Equal(["dd.MM.yyyy HH:mm:ss"], narrative.Formats!);

        var fire = ParseWith(proposal, "leitstelle-einsatzdaten.xml", TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin"))[0];
        Assert.Equal(new DateTimeOffset(2021, 11, 6, 20, 32, 30, TimeSpan.Zero), fire.ReceivedAt);
        Assert.Equal("Schillerstraße 12 München", fire.Address);
        Assert.Equal((48.1402, 11.5582), (fire.Latitude!.Value, fire.Longitude!.Value));
        Assert.Empty(fire.Warnings);
    }

    [Fact]
    public void A_flat_feed_proposes_repeated_lines_joined_and_a_file_without_a_unique_identifier_says_so()
    {
        var proposal = Propose("fire-live-feed.xml");

        Assert.Equal("/feed/incident", proposal.RecordXPath);
        var paths = proposal.Mappings.Fields.ToDictionary(f => f.Key, f => f.Value.XPath);
        Assert.Equal(("id", "received", "geometry", "unit", "comments"),
            (paths["externalId"], paths["receivedAt"], paths["location"], paths["units"], paths["description"]));
        Assert.Equal("SMOKE SHOWING FROM 3RD FLOOR\nALL OCCUPANTS ACCOUNTED FOR", ParseWith(proposal, "fire-live-feed.xml", TimeZoneInfo.Utc)[0].Description);

        var anonymous = CfsMappingProposer.Propose(new MemoryStream("<log><line>smoke</line><line>smoke</line></log>"u8.ToArray()), 1000);
        Assert.False(anonymous.Mappings.Fields.ContainsKey("externalId"));
        Assert.Contains(anonymous.Notes, n => n.StartsWith("No value unique to each record"));
    }

    [Fact]
    public void A_file_that_is_one_call_with_units_logs_and_narratives_inside_is_one_record_not_a_unit_or_a_log_line()
    {
        var proposal = Propose("single-call-with-lists.xml");

        Assert.Null(proposal.RecordXPath); // the document element is the record
        Assert.Equal(1, proposal.RecordCount);
        var fields = proposal.Mappings.Fields;
        Assert.Equal("IncidentID", fields["externalId"].XPath);
        Assert.Equal("CreateDateTime", fields["receivedAt"].XPath);
        Assert.Equal("Caller/Phone", fields["callerPhone"].XPath);
        Assert.Equal("AssignedUnits/Unit/UnitID", fields["units"].XPath);
        Assert.Equal(new FieldMapping("Narratives/Narrative", TextXPath: "Text", TimeXPath: "EntryTime"), fields["narrative"]);

        var record = Assert.Single(ParseWith(proposal, "single-call-with-lists.xml", TimeZoneInfo.FindSystemTimeZoneById("America/Chicago")));
        Assert.Equal("2026-00012345", record.ExternalId);
        Assert.Equal(new DateTimeOffset(2026, 3, 14, 7, 47, 9, TimeSpan.Zero), record.ReceivedAt); // 02:47:09 CDT
        Assert.Equal("7735550199", record.CallerPhone!.Where(char.IsAsciiDigit).Aggregate("", (a, c) => a + c));
        Assert.Equal(["E56", "T11", "BC2"], record.Units);
        Assert.Equal(2, record.Narrative.Count);
    }

    [Fact]
    public void A_leitstelle_file_of_one_einsatz_with_its_vehicles_is_one_record_not_a_vehicle()
    {
        var proposal = Propose("leitstelle-einsatz-single.xml");

        Assert.Null(proposal.RecordXPath);
        var fields = proposal.Mappings.Fields;
        Assert.Equal("Einsatznummer", fields["externalId"].XPath);
        Assert.Equal("Alarmzeit", fields["receivedAt"].XPath);
        Assert.Equal(["dd.MM.yyyy HH:mm:ss"], fields["receivedAt"].Formats!);
        Assert.Equal("Meldender/Telefon", fields["callerPhone"].XPath);

        var record = Assert.Single(ParseWith(proposal, "leitstelle-einsatz-single.xml", TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin")));
        Assert.Equal("7 26 004711", record.ExternalId);
        Assert.Equal(new DateTimeOffset(2026, 3, 14, 2, 47, 9, TimeSpan.Zero), record.ReceivedAt); // 03:47:09 CET
    }

    [Fact]
    public void A_feed_whose_document_carries_its_own_id_and_time_still_takes_each_call_as_a_record()
    {
        var feed = """
            <export id="EXP-1" generated="2026-03-14T08:00:00Z">
              <call><number>C-1</number><received>2026-03-14T07:10:00Z</received><address>1 MAIN ST</address><priority>2</priority><phone>555-0100</phone></call>
              <call><number>C-2</number><received>2026-03-14T07:20:00Z</received><address>2 MAIN ST</address><priority>1</priority><phone>555-0101</phone></call>
            </export>
            """;
        var proposal = CfsMappingProposer.Propose(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(feed)), CfsMappings.DefaultMaxFileBytes);

        Assert.Equal(("/export/call", 2), (proposal.RecordXPath, proposal.RecordCount));
        Assert.Equal("received", proposal.Mappings.Fields["receivedAt"].XPath);
    }
}
