using Dispatch.Grains.Cfs;

namespace Dispatch.Tests.Cfs;

/// <summary>
/// The mapping language over exports in three CAD styles (files in Samples/): zone-less times, declared formats, several matching
/// nodes, the dispatcher's fields, and what is a warning instead of a silently different value.
/// </summary>
public sealed class CfsMappingLanguageTests
{
    private static readonly GenericXmlParser Parser = new();
    private static readonly TimeZoneInfo Chicago = TimeZoneInfo.FindSystemTimeZoneById("America/Chicago");
    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

    public static byte[] Sample(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Cfs", "Samples", name));

    private static IReadOnlyList<CfsRecord> Parse(string sample, CfsMappings mappings, TimeZoneInfo agencyZone)
    {
        Assert.Empty(mappings.Validate());
        return Parser.Parse(new MemoryStream(Sample(sample)), mappings, agencyZone);
    }

    private static DateTimeOffset Utc(int y, int mo, int d, int h, int mi, int s) => new(y, mo, d, h, mi, s, TimeSpan.Zero);

    public static CfsMappings County(string? timeZone = "America/Chicago") => new("/CADExport/CallForService", null, new Dictionary<string, FieldMapping>
    {
        ["externalId"] = new("CFSNumber"),
        ["callNumber"] = new("IncidentNumber"),
        ["receivedAt"] = new("CallReceived"),
        ["type"] = new("CallType"),
        ["nature"] = new("CallTypeDescription"),
        ["priority"] = new("Priority", Map: new Dictionary<string, string> { ["1"] = "irod", ["2"] = "critical", ["*"] = "routine_special" }),
        ["status"] = new("Status"),
        ["address"] = new("Location/FullAddress | Location/City", Separator: ", "),
        ["crossStreets"] = new("Location/CrossStreet1 | Location/CrossStreet2"),
        ["latitude"] = new("Location/Latitude"),
        ["longitude"] = new("Location/Longitude"),
        ["callerName"] = new("Caller/Name"),
        ["callerPhone"] = new("Caller/Phone", ["digits"]),
        ["narrative"] = new("Narrative/Entry", TextXPath: "Text", TimeXPath: "Time"),
        ["units"] = new("Units/Unit"),
    }, TimeZone: timeZone, Extra: new Dictionary<string, FieldMapping> { ["beat"] = new("Beat"), ["operators"] = new("Narrative/Entry/Operator", Combine: "all") });

    [Fact]
    public void A_county_export_is_read_whole_with_zone_less_times_local_to_the_configuration_zone()
    {
        var records = Parse("county-cad-export.xml", County(), TimeZoneInfo.Utc);

        var gas = records[0];
        Assert.Equal(("CFS26-004417", "2026-0000881", "GASLK", "GAS LEAK - OUTSIDE", "DISP"), (gas.ExternalId, gas.CallNumber, gas.Type, gas.Nature, gas.Status));
        Assert.Equal(("irod", "routine_special"), (gas.Priority, records[1].Priority));
        // 09:51:20 in Chicago (CST, UTC-6) is 15:51:20 UTC — not 09:51:20 UTC; the text the CAD wrote is kept beside it.
        Assert.Equal(Utc(2026, 1, 26, 15, 51, 20), gas.ReceivedAt);
        Assert.Equal("2026-01-26T09:51:20", gas.ReceivedAtText);
        Assert.Equal("1400 W RANDOLPH ST, CHICAGO", gas.Address);
        Assert.Equal("N LOOMIS ST / N ADA ST", gas.CrossStreets); // joined in document order
        Assert.Equal((41.884390, -87.662015), (gas.Latitude!.Value, gas.Longitude!.Value));
        Assert.Equal(("ORTIZ, MARIA", "3125550142"), (gas.CallerName, gas.CallerPhone));
        Assert.Equal(["E5", "TRK2"], gas.Units);
        Assert.Equal([new CfsNarrativeEntry("CALLER REPORTS STRONG ODOR OF GAS NEAR METER", Utc(2026, 1, 26, 15, 51, 44), "2026-01-26T09:51:44"),
            new CfsNarrativeEntry("HISSING SOUND AUDIBLE, CALLER EVACUATED BUILDING", Utc(2026, 1, 26, 15, 52, 30), "2026-01-26T09:52:30")], gas.Narrative);
        Assert.Equal("1224", gas.Extra["beat"]);
        Assert.Equal(["D114", "D114"], Assert.IsType<List<string>>(gas.Extra["operators"]));
        Assert.Empty(gas.Warnings);

        // Two phone numbers for a one-value field: the first is kept, and the record says so.
        var wires = records[1];
        Assert.Equal("7735550199", wires.CallerPhone);
        Assert.Equal(["callerPhone matched 2 values; the first was kept (say \"combine\": \"first\" or \"join\" in its mapping)."], wires.Warnings);
    }

    [Fact]
    public void Zone_less_times_default_to_the_agency_zone_a_field_may_name_its_own_and_explicit_offsets_are_kept()
    {
        var agencyZone = Parse("county-cad-export.xml", County(timeZone: null), Chicago)[0];
        Assert.Equal(Utc(2026, 1, 26, 15, 51, 20), agencyZone.ReceivedAt);

        var eastern = County() with { Fields = new Dictionary<string, FieldMapping>(County().Fields) { ["receivedAt"] = new("CallReceived", TimeZone: "America/New_York") } };
        Assert.Equal(Utc(2026, 1, 26, 14, 51, 20), Parse("county-cad-export.xml", eastern, TimeZoneInfo.Utc)[0].ReceivedAt);

        var feed = new CfsMappings("/feed/incident", null, new Dictionary<string, FieldMapping>
        {
            ["externalId"] = new("id"), ["receivedAt"] = new("received"),
        });
        var calls = Parse("fire-live-feed.xml", feed, Chicago);
        Assert.Equal(Utc(2026, 1, 26, 15, 51, 20), calls[0].ReceivedAt); // "2026-01-26 09:51:20": a space, no zone — Chicago's
        Assert.Equal(Utc(2026, 1, 26, 21, 2, 11), calls[1].ReceivedAt);  // "…T21:02:11Z": as given, whatever the agency's zone
        Assert.Equal("2026-01-26T21:02:11Z", calls[1].ReceivedAtText);
    }

    [Fact]
    public void Local_times_the_clocks_skip_or_repeat_are_warnings_not_guesses()
    {
        var mappings = new CfsMappings(null, null, new Dictionary<string, FieldMapping> { ["externalId"] = new("@id"), ["receivedAt"] = new("@at") },
            TimeZone: "America/Chicago");
        CfsRecord Read(string at) => Parser.Parse(new MemoryStream(System.Text.Encoding.UTF8.GetBytes($"<call id='1' at='{at}'/>")), mappings, TimeZoneInfo.Utc)[0];

        var skipped = Read("2026-03-08T02:30:00"); // clocks go from 02:00 to 03:00
        Assert.Null(skipped.ReceivedAt);
        Assert.Contains("does not exist in America/Chicago", Assert.Single(skipped.Warnings));
        var repeated = Read("2026-11-01T01:30:00"); // 01:00–02:00 happens twice
        Assert.Equal(Utc(2026, 11, 1, 7, 30, 0), repeated.ReceivedAt); // standard time, CST
        Assert.Contains("happened twice", Assert.Single(repeated.Warnings));
    }

    public static CfsMappings Leitstelle(IReadOnlyList<string>? alarmFormats) => new("/e:Einsatzdaten/e:Einsatz",
        new Dictionary<string, string> { ["e"] = "urn:example:leitstelle:einsatz:1" }, new Dictionary<string, FieldMapping>
        {
            ["externalId"] = new("e:Einsatznummer"),
            ["receivedAt"] = new("e:Alarmzeit", Formats: alarmFormats),
            ["type"] = new("e:Stichwort"),
            ["nature"] = new("e:Meldebild"),
            ["address"] = new("e:Einsatzort/e:Strasse | e:Einsatzort/e:Hausnummer | e:Einsatzort/e:Ort"),
            ["location"] = new("e:Einsatzort/e:Koordinaten"),
            ["latitude"] = new("e:Einsatzort/e:Breite", Culture: "de-DE"),
            ["longitude"] = new("e:Einsatzort/e:Laenge", Culture: "de-DE"),
            ["callerName"] = new("e:Meldender/e:Name"),
            ["callerPhone"] = new("e:Meldender/e:Telefon"),
            ["units"] = new("e:Fahrzeuge/e:Fahrzeug"),
            ["narrative"] = new("e:Bemerkungen/e:Bemerkung", TimeXPath: "@zeit", Formats: ["dd.MM.yyyy HH:mm:ss"]),
        }, TimeZone: "Europe/Berlin", Extra: new Dictionary<string, FieldMapping> { ["eingang"] = new("e:Eingang") });

    [Fact]
    public void Declared_formats_read_german_times_as_written_and_a_time_in_no_declared_format_is_a_warning()
    {
        var records = Parse("leitstelle-einsatzdaten.xml", Leitstelle(["dd.MM.yyyy HH:mm:ss"]), TimeZoneInfo.Utc);

        var fire = records[0];
        // 6 November 21:32:30 in Berlin (CET, UTC+1) — not 11 June.
        Assert.Equal(Utc(2021, 11, 6, 20, 32, 30), fire.ReceivedAt);
        Assert.Equal("Schillerstraße 12 München", fire.Address); // ISO-8859-1, parts joined in document order
        Assert.Equal((48.1402, 11.5582), (fire.Latitude!.Value, fire.Longitude!.Value)); // WKT is longitude first
        Assert.Equal((48.1612, 11.5861), (records[1].Latitude!.Value, records[1].Longitude!.Value)); // decimal commas in de-DE
        Assert.Equal(["Florian München 1/40/1", "Florian München 1/33/1"], fire.Units);
        Assert.Equal([Utc(2021, 11, 6, 20, 33, 10), Utc(2021, 11, 6, 20, 34, 2)], fire.Narrative.Select(n => n.At!.Value));
        Assert.Equal("Zwei Personen am Fenster", fire.Narrative[1].Text);
        Assert.All(records, r => Assert.Empty(r.Warnings));

        // A 14-digit timestamp, with its format declared.
        var compact = Leitstelle(null) with
        {
            Fields = new Dictionary<string, FieldMapping>(Leitstelle(null).Fields) { ["receivedAt"] = new("e:Eingang", Formats: ["yyyyMMddHHmmss"]) },
        };
        Assert.Equal(Utc(2021, 11, 6, 20, 32, 30), Parse("leitstelle-einsatzdaten.xml", compact, TimeZoneInfo.Utc)[0].ReceivedAt);

        // No format declared: not ISO 8601, so not read at all — never a guessed month.
        var undeclared = Parse("leitstelle-einsatzdaten.xml", Leitstelle(null), TimeZoneInfo.Utc)[0];
        Assert.Null(undeclared.ReceivedAt);
        Assert.Equal("06.11.2021 21:32:30", undeclared.ReceivedAtText);
        Assert.Contains("receivedAt '06.11.2021 21:32:30' is not an ISO 8601 date and time", Assert.Single(undeclared.Warnings));
        // A declared format it does not match: a warning naming the formats tried.
        var wrong = Parse("leitstelle-einsatzdaten.xml", Leitstelle(["MM/dd/yyyy HH:mm:ss", "yyyy-MM-dd HH:mm"]), TimeZoneInfo.Utc)[0];
        Assert.Null(wrong.ReceivedAt);
        Assert.Contains("matches none of the declared formats (MM/dd/yyyy HH:mm:ss | yyyy-MM-dd HH:mm)", Assert.Single(wrong.Warnings));
    }

    [Fact]
    public void Several_matching_nodes_are_joined_by_default_for_text_or_combined_as_the_mapping_says()
    {
        CfsMappings Feed(FieldMapping description, FieldMapping units) => new("/feed/incident", null, new Dictionary<string, FieldMapping>
        {
            ["externalId"] = new("id"), ["description"] = description, ["units"] = units, ["location"] = new("geometry"), ["status"] = new("status"),
        });

        var joined = Parse("fire-live-feed.xml", Feed(new("comments"), new("unit")), Chicago)[0];
        Assert.Equal("SMOKE SHOWING FROM 3RD FLOOR\nALL OCCUPANTS ACCOUNTED FOR", joined.Description); // every line, in order
        Assert.Equal(["E22", "T11", "BC5"], joined.Units);
        Assert.Equal((41.9227, -87.6371), (joined.Latitude!.Value, joined.Longitude!.Value));
        Assert.Empty(joined.Warnings);

        var chosen = Parse("fire-live-feed.xml", Feed(new("comments", Combine: "first"), new("unit", Combine: "first")), Chicago)[0];
        Assert.Equal("SMOKE SHOWING FROM 3RD FLOOR", chosen.Description);
        Assert.Equal(["E22"], chosen.Units);
        var separated = Parse("fire-live-feed.xml", Feed(new("comments", Separator: " | "), new("unit")), Chicago)[0];
        Assert.Equal("SMOKE SHOWING FROM 3RD FLOOR | ALL OCCUPANTS ACCOUNTED FOR", separated.Description);
    }

    [Fact]
    public void Unreadable_numbers_and_points_are_warnings_and_positions_off_the_globe_are_not_stored()
    {
        var mappings = new CfsMappings(null, null, new Dictionary<string, FieldMapping>
        {
            ["externalId"] = new("@id"), ["latitude"] = new("@lat"), ["longitude"] = new("@lon"), ["location"] = new("@wkt"),
        });
        CfsRecord Read(string attributes) => Parser.Parse(new MemoryStream(System.Text.Encoding.UTF8.GetBytes($"<call id='1' {attributes}/>")), mappings, TimeZoneInfo.Utc)[0];

        var comma = Read("lat='41,88' lon='-87.66'");
        Assert.Equal((null, null), (comma.Latitude, comma.Longitude));
        Assert.Equal(["latitude '41,88' is not a number in the invariant culture; not stored.",
            "Only one of latitude and longitude was read; a position needs both, so none is stored."], comma.Warnings);
        var swapped = Read("wkt='POINT (-33.87 151.21)'"); // Sydney, latitude first by mistake: 151.21 is no latitude
        Assert.Equal((null, null), (swapped.Latitude, swapped.Longitude));
        Assert.Contains("not on the globe", Assert.Single(swapped.Warnings));
        Assert.Contains("is not a WKT point", Assert.Single(Read("wkt='41.88,-87.66'").Warnings));
        var srid = Read("wkt='SRID=4326;POINT(-87.66 41.88)'");
        Assert.Equal((41.88, -87.66), (srid.Latitude!.Value, srid.Longitude!.Value));
    }

    [Fact]
    public void The_new_mapping_properties_are_validated_where_they_apply()
    {
        var bad = new CfsMappings(null, null, new Dictionary<string, FieldMapping>
        {
            ["externalId"] = new("@id", Combine: "all"),
            ["receivedAt"] = new("@at", Formats: ["%"], TimeZone: "Mars/Olympus", Culture: "xx-NOPE"),
            ["address"] = new("@a", Formats: ["yyyy"]),
            ["units"] = new("u", Combine: "join"),
            ["narrative"] = new("n", TimeXPath: "@t["),
        }, TimeZone: "Central Standard Time", Extra: new Dictionary<string, FieldMapping> { ["bad name!"] = new("x"), ["beat"] = new("b", Combine: "all") });

        var errors = bad.Validate().Select(e => e.Field).ToList();

        Assert.Equal([
            "fieldMappings.extra.bad name!", "fieldMappings.fields.address.formats", "fieldMappings.fields.externalId.combine",
            "fieldMappings.fields.narrative.timeXPath", "fieldMappings.fields.receivedAt.culture", "fieldMappings.fields.receivedAt.formats",
            "fieldMappings.fields.receivedAt.timeZone", "fieldMappings.fields.units.combine", "fieldMappings.timeZone",
        ], errors.Order(StringComparer.Ordinal));
        Assert.Empty(County().Validate());
        Assert.Empty(Leitstelle(["dd.MM.yyyy HH:mm:ss"]).Validate());
    }
}
