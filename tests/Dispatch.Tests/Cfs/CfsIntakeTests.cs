using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using Dispatch.Grains.Cfs;
using Dispatch.Tests.Deliveries;
using Dispatch.Tests.Infrastructure;
using Npgsql;

namespace Dispatch.Tests.Cfs;

/// <summary>CAD inboxes end to end: the real Api, real Silo processes scanning a real folder, one database.</summary>
[Trait("Tier", "Full")] // real processes: a Silo, the Api or the AppHost
public sealed class CfsIntakeTests : DeliveryWorld
{
    private readonly string _inbox = Dispatch.Testing.TestRun.NewFolder("cfs-");

    protected override Dictionary<string, string?> SiloSettings => new(base.SiloSettings)
    {
        ["Dispatch:Cfs:Reconcile"] = "00:00:00.500",
    };

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_inbox, recursive: true);
    }

    private static object Mappings(string? marker = null, long? maxFileBytes = null) => new
    {
        recordXPath = "/c:Export/c:Call",
        namespaces = new Dictionary<string, string> { ["c"] = "urn:example:cad:v2" },
        fields = new Dictionary<string, object>
        {
            ["externalId"] = new { xpath = "@id" },
            ["callerName"] = new { xpath = "c:Caller/c:Name" },
            ["description"] = new { xpath = "c:Narrative" },
            ["address"] = new { xpath = "c:Street" },
            ["priority"] = new { xpath = "c:Priority", map = new Dictionary<string, string> { ["P1"] = "irod", ["P2"] = "critical" } },
        },
        markerSuffix = marker,
        maxFileBytes,
    };

    private async Task<Guid> ConfigureAsync(string inbox, object mappings, int pollIntervalSeconds = 1)
    {
        var created = await SendAsync(Admin, HttpMethod.Post, "/api/v1/cfs-configurations",
            new { name = "Metro CAD", inboxPath = inbox, pollIntervalSeconds, fieldMappings = mappings });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        return created.Body!["id"]!.GetValue<Guid>();
    }

    public static string Export(params (string Id, string Description)[] calls) => $"""
        <?xml version="1.0" encoding="UTF-8"?>
        <Export xmlns="urn:example:cad:v2">
        {string.Concat(calls.Select(c => $"""<Call id="{c.Id}"><Caller><Name>Caller {c.Id}</Name></Caller><Narrative>{c.Description}</Narrative><Street>1 Main St</Street><Priority>P2</Priority></Call>"""))}
        </Export>
        """;

    private async Task<List<JsonNode>> ImportsAsync(string? status = null) =>
        (await SendAsync(Admin, HttpMethod.Get, "/api/v1/cfs-imports?pageSize=200" + (status is null ? "" : $"&status={status}"))).Body!["items"]!.AsArray()
        .Select(n => n!).ToList();

    private Task WaitForImportsAsync(int count, int seconds = 30) =>
        Wait.UntilAsync(async () => (await ImportsAsync()).Count >= count, TimeSpan.FromSeconds(seconds), () => Silo?.Output ?? "");

    [Fact]
    public async Task Files_are_imported_once_moved_duplicates_skipped_malformed_ones_fail_alone_and_cad_updates_reach_the_linked_incident()
    {
        var missing = await SendAsync(Admin, HttpMethod.Post, "/api/v1/cfs-configurations",
            new { name = "x", inboxPath = "/no/such/inbox", fieldMappings = new { fields = new { callerName = new { xpath = "@x" } } } });
        Assert.Equal(HttpStatusCode.BadRequest, missing.Status);
        Assert.True(missing.Body!["errors"]!.AsObject().ContainsKey("inboxPath"));
        Assert.True(missing.Body!["errors"]!.AsObject().ContainsKey("fieldMappings.fields.externalId"));

        var configuration = await ConfigureAsync(_inbox, Mappings());
        var calls = Export(("CFS-1", "Gas smell"), ("CFS-2", "Wires down"));
        await File.WriteAllTextAsync(Path.Combine(_inbox, "a.xml"), calls);
        await File.WriteAllTextAsync(Path.Combine(_inbox, "b.xml"), "<Export><Call id='broken'>");
        await File.WriteAllTextAsync(Path.Combine(_inbox, "c-bomb.xml"), """
            <?xml version="1.0"?><!DOCTYPE Export [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
            <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><Export>&d;</Export>
            """);
        await File.WriteAllTextAsync(Path.Combine(_inbox, "ignored.txt"), calls);
        await WaitForImportsAsync(3);
        await File.WriteAllTextAsync(Path.Combine(_inbox, "a-again.xml"), calls); // the same content under another name
        await WaitForImportsAsync(4);

        var imports = await ImportsAsync();
        Assert.Equal(["duplicate", "failed", "failed", "imported"], imports.Select(i => i["status"]!.GetValue<string>()).Order());
        Assert.Equal(2, imports.Single(i => i["status"]!.GetValue<string>() == "imported")["recordCount"]!.GetValue<int>());
        Assert.Contains("Unreadable XML", imports.Single(i => i["filename"]!.GetValue<string>() == "b.xml")["error"]!.GetValue<string>());
        Assert.Contains("DTD is prohibited", imports.Single(i => i["filename"]!.GetValue<string>() == "c-bomb.xml")["error"]!.GetValue<string>());
        Assert.Equal(["a-again.xml", "a.xml"], Directory.GetFiles(Path.Combine(_inbox, "processed")).Select(Path.GetFileName).Order());
        Assert.Equal(["b.xml", "b.xml.reason.txt", "c-bomb.xml", "c-bomb.xml.reason.txt"],
            Directory.GetFiles(Path.Combine(_inbox, "failed")).Select(Path.GetFileName).Order());
        Assert.Contains("Unreadable XML", await File.ReadAllTextAsync(Path.Combine(_inbox, "failed", "b.xml.reason.txt")));
        Assert.True(File.Exists(Path.Combine(_inbox, "ignored.txt")));

        var list = (await SendAsync(Admin, HttpMethod.Get, "/api/v1/cfs-incidents?linked=false")).Body!;
        Assert.Equal(2, list["total"]!.GetValue<long>());
        var gas = list["items"]!.AsArray().Single(c => c!["externalCfsId"]!.GetValue<string>() == "CFS-1")!;
        Assert.Equal(("Caller CFS-1", "critical"), (gas["callerName"]!.GetValue<string>(), gas["priority"]!.GetValue<string>()));
        var id = gas["id"]!.GetValue<Guid>();
        Assert.Contains("<Narrative>Gas smell</Narrative>", (await SendAsync(Admin, HttpMethod.Get, $"/api/v1/cfs-incidents/{id}")).Body!["rawXml"]!.GetValue<string>());
        await using (var c = new NpgsqlConnection(ConnectionString))
        {
            var stored = await c.ExecuteScalarAsync<byte[]>("select raw_xml from cfs_incidents where id = @id", new { id });
            Assert.DoesNotContain("Gas smell", Encoding.UTF8.GetString(stored!)); // encrypted at rest
        }

        // Raise an incident from the call, then let the CAD update it.
        var linked = await SendAsync(Admin, HttpMethod.Post, $"/api/v1/cfs-incidents/{id}/link", new { title = "Gas smell at school" });
        Assert.Equal(HttpStatusCode.OK, linked.Status);
        var incident = linked.Body!["incidentId"]!.GetValue<Guid>();
        Assert.Equal(HttpStatusCode.Conflict, (await SendAsync(Admin, HttpMethod.Post, $"/api/v1/cfs-incidents/{id}/link", new { priority = "irod" })).Status);
        await File.WriteAllTextAsync(Path.Combine(_inbox, "update.xml"), Export(("CFS-1", "Gas smell, school evacuated")));
        await WaitForImportsAsync(5);
        Assert.Equal(2, (await SendAsync(Admin, HttpMethod.Get, "/api/v1/cfs-incidents")).Body!["total"]!.GetValue<long>()); // updated, not duplicated
        var updated = (await SendAsync(Admin, HttpMethod.Get, $"/api/v1/cfs-incidents/{id}")).Body!;
        Assert.Equal(("Gas smell, school evacuated", 3), (updated["description"]!.GetValue<string>(), updated["version"]!.GetValue<int>())); // imported, linked, updated
        await using (var c = new NpgsqlConnection(ConnectionString))
            Assert.Equal(1, await c.ExecuteScalarAsync<int>(
                "select count(*) from incident_communications where incident_id = @incident and communication_type = 'cfs_update'", new { incident }));

        // Dry run: what a sample would import, nothing stored.
        using var sample = new ByteArrayContent(Encoding.UTF8.GetBytes(Export(("CFS-1", "again"), ("CFS-9", "new"))));
        sample.Headers.ContentType = new MediaTypeHeaderValue("application/xml");
        using var response = await Admin.PostAsync($"/api/v1/cfs-configurations/{configuration}/dry-run", sample);
        var dry = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.True(dry["wouldImport"]!.GetValue<bool>());
        Assert.Equal([true, false], dry["records"]!.AsArray().Select(r => r!["updatesExisting"]!.GetValue<bool>()));
        Assert.Equal(2, (await SendAsync(Admin, HttpMethod.Get, "/api/v1/cfs-incidents")).Body!["total"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_county_export_is_read_as_dispatchers_need_it_and_a_moved_or_reprioritised_call_reaches_everyone_notified()
    {
        var (gasco, gascoAdmin, _) = await OnboardCompanyAsync("gasco");
        await RuleAsync(gasco, await ChannelAsync(gasco, "email", "ops email", "{}"), null);
        await using (var c = new NpgsqlConnection(ConnectionString)) // the PSAP's zone: where its CAD's zone-less times are local
            await c.ExecuteAsync("update agencies set timezone = 'America/Chicago' where id = (select agency_id from users where email = @AdminEmail)",
                new { AdminEmail });
        var mappings = CfsMappingLanguageTests.County(timeZone: null) with
        {
            AutoCreate = new CfsAutoCreate(new Dictionary<string, IReadOnlyList<Guid>> { ["GASLK"] = [gasco] }),
        };
        var configuration = await ConfigureAsync(_inbox, mappings);

        // The dry run shows the CAD's text beside the instant it became, in the agency's zone, and every warning.
        var county = CfsMappingLanguageTests.Sample("county-cad-export.xml");
        var dry = await PostSampleAsync($"/api/v1/cfs-configurations/{configuration}/dry-run", county);
        Assert.Equal(("America/Chicago", 1), (dry["timeZone"]!.GetValue<string>(), dry["warningCount"]!.GetValue<int>()));
        var first = dry["records"]![0]!;
        Assert.Equal(("2026-01-26T09:51:20", new DateTimeOffset(2026, 1, 26, 15, 51, 20, TimeSpan.Zero)),
            (first["receivedAtText"]!.GetValue<string>(), first["receivedAt"]!.GetValue<DateTimeOffset>()));
        Assert.Contains("callerPhone matched 2 values", dry["records"]![1]!["warnings"]![0]!.GetValue<string>());

        // No mapping at all: a proposal from the sample, with what it would import.
        var proposed = await PostSampleAsync("/api/v1/cfs-configurations/dry-run", CfsMappingLanguageTests.Sample("leitstelle-einsatzdaten.xml"));
        Assert.Equal("/ELS:Einsatzdaten/ELS:Einsatz", proposed["proposal"]!["recordXPath"]!.GetValue<string>());
        Assert.Equal("yyyyMMddHHmmss", proposed["proposal"]!["mappings"]!["fields"]!["receivedAt"]!["formats"]![0]!.GetValue<string>());
        Assert.Equal(("20211106213230", 2), (proposed["dryRun"]!["records"]![0]!["receivedAtText"]!.GetValue<string>(), proposed["dryRun"]!["recordCount"]!.GetValue<int>()));
        var notXml = await PostSampleAsync("/api/v1/cfs-configurations/dry-run", "not xml"u8.ToArray(), HttpStatusCode.BadRequest);
        Assert.Contains("Unreadable XML", notXml["errors"]!["file"]![0]!.GetValue<string>());
        // The proposal edited (the alarm time instead, in Berlin) and tried as a form with the sample, before it is saved.
        var edited = CfsMappingLanguageTests.Leitstelle(["dd.MM.yyyy HH:mm:ss"]);
        var tried = await PostFormAsync(edited.ToJson(), CfsMappingLanguageTests.Sample("leitstelle-einsatzdaten.xml"));
        Assert.Null(tried["proposal"]);
        Assert.Equal(("Europe/Berlin", "2021-11-06T20:32:30Z"), (tried["dryRun"]!["timeZone"]!.GetValue<string>(),
            tried["dryRun"]!["records"]![0]!["receivedAt"]!.GetValue<DateTimeOffset>().ToString("yyyy-MM-ddTHH:mm:ssZ")));
        var invalid = await PostFormAsync("""{"fields": {"receivedAt": {"xpath": "x", "formats": ["%"]}}}""", county, HttpStatusCode.BadRequest);
        Assert.Equal(["fieldMappings.fields.externalId", "fieldMappings.fields.receivedAt.formats"],
            invalid["errors"]!.AsObject().Select(e => e.Key).Order());

        // Imported: the gas call raises an incident for gasco, whose admin is emailed.
        await File.WriteAllBytesAsync(Path.Combine(_inbox, "export-1.xml"), county);
        await WaitForImportsAsync(1);
        Assert.Equal(1, (await ImportsAsync()).Single()["warningCount"]!.GetValue<int>()); // the import stands out in the list
        var calls = (await SendAsync(Admin, HttpMethod.Get, "/api/v1/cfs-incidents")).Body!["items"]!.AsArray();
        var gasId = calls.Single(c => c!["externalCfsId"]!.GetValue<string>() == "CFS26-004417")!["id"]!.GetValue<Guid>();
        var gas = (await SendAsync(Admin, HttpMethod.Get, $"/api/v1/cfs-incidents/{gasId}")).Body!;
        Assert.Equal(("2026-0000881", "N LOOMIS ST / N ADA ST", "DISP"), (gas["callNumber"]!.GetValue<string>(), gas["crossStreets"]!.GetValue<string>(), gas["status"]!.GetValue<string>()));
        Assert.Equal(["E5", "TRK2"], gas["units"]!.AsArray().Select(u => u!.GetValue<string>()));
        Assert.Equal(new DateTimeOffset(2026, 1, 26, 15, 51, 20, TimeSpan.Zero), gas["receivedAt"]!.GetValue<DateTimeOffset>()); // the Silo too reads in Chicago
        Assert.Equal("HISSING SOUND AUDIBLE, CALLER EVACUATED BUILDING", gas["narrative"]![1]!["text"]!.GetValue<string>());
        Assert.Equal("1224", gas["extra"]!["beat"]!.GetValue<string>());
        Assert.Equal(41.88439, gas["latitude"]!.GetValue<double>());
        var wires = calls.Single(c => c!["externalCfsId"]!.GetValue<string>() == "CFS26-004418")!;
        Assert.Contains("callerPhone matched 2 values", wires["warnings"]![0]!.GetValue<string>()); // kept on the imported record
        await using (var c = new NpgsqlConnection(ConnectionString))
        {
            var stored = await c.QuerySingleAsync<(string Narrative, string Extra)>("select narrative::text, extra::text from cfs_incidents where id = @gasId", new { gasId });
            Assert.DoesNotContain("HISSING", stored.Narrative); // encrypted at rest
            Assert.DoesNotContain("1224", stored.Extra);
        }
        var incident = await LinkedIncidentAsync(gasId);
        await Wait.UntilAsync(() => Task.FromResult(Smtp.Messages().Any(m => m.ToAddress == gascoAdmin)), TimeSpan.FromSeconds(60), () => Silo!.Output);

        // The CAD moves the call and raises its priority: the log says what changed, the incident follows, and the admin is told.
        var moved = Encoding.UTF8.GetString(county).Replace("1400 W RANDOLPH ST", "1410 W RANDOLPH ST").Replace("<Priority>1</Priority>", "<Priority>2</Priority>")
            .Replace("</Entry>\n    </Narrative>", "</Entry>\n      <Entry><Time>2026-01-26T09:58:00</Time><Operator>D114</Operator><Text>UTILITY EN ROUTE</Text></Entry>\n    </Narrative>");
        await File.WriteAllTextAsync(Path.Combine(_inbox, "export-2.xml"), moved);
        await WaitForImportsAsync(2);
        var log = (await SendAsync(Admin, HttpMethod.Get, $"/api/v1/incidents/{incident}/communications?pageSize=100")).Body!["items"]!.AsArray();
        var update = log.Single(e => e!["communicationType"]!.GetValue<string>() == "cfs_update")!["content"]!.GetValue<string>();
        Assert.Contains("address: '1400 W RANDOLPH ST, CHICAGO' → '1410 W RANDOLPH ST, CHICAGO'", update);
        Assert.Contains("priority: 'irod' → 'critical'", update);
        Assert.Contains("narrative: 1 new entry: [2026-01-26 15:58:00Z] UTILITY EN ROUTE", update);
        // The incident's grain takes the new address and priority from its inbox, right after the import's commit.
        await Wait.UntilAsync(async () => (await IncidentAsync(incident))["incident"]!["priority"]!.GetValue<string>() == "critical", TimeSpan.FromSeconds(30),
            () => Silo!.Output);
        var now = (await IncidentAsync(incident))["incident"]!;
        Assert.Equal("GAS LEAK - OUTSIDE (CAD call CFS26-004417)", now["title"]!.GetValue<string>()); // the nature, not the code
        Assert.Equal(("critical", "1410 W RANDOLPH ST, CHICAGO"), (now["priority"]!.GetValue<string>(), now["address"]!.GetValue<string>()));
        await Wait.UntilAsync(() => Task.FromResult(Smtp.Messages().Any(m => m.ToAddress == gascoAdmin && m.Subject.Contains("UPDATE"))),
            TimeSpan.FromSeconds(60), () => Silo!.Output);
        var notice = Smtp.Messages().Single(m => m.Subject.Contains("UPDATE"));
        Assert.Contains("UPDATE (address and priority changed by the CAD)", notice.Subject);
        Assert.Contains("1410 W RANDOLPH ST", notice.Decoded);

        // Once the incident is resolved, a CAD move is logged but changes nothing and tells nobody.
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(Admin, HttpMethod.Post, $"/api/v1/incidents/{incident}/resolve")).Status);
        await File.WriteAllTextAsync(Path.Combine(_inbox, "export-3.xml"), moved.Replace("1410 W RANDOLPH ST", "1500 W RANDOLPH ST"));
        await WaitForImportsAsync(3);
        await Wait.UntilAsync(async () => (log = (await SendAsync(Admin, HttpMethod.Get, $"/api/v1/incidents/{incident}/communications?pageSize=100")).Body!["items"]!
            .AsArray()).Any(e => e!["communicationType"]!.GetValue<string>() == "cfs_update_not_sent"), TimeSpan.FromSeconds(30), () => Silo!.Output);
        Assert.Contains("but the incident is resolved", log.Single(e => e!["communicationType"]!.GetValue<string>() == "cfs_update_not_sent")!["content"]!.GetValue<string>());
        Assert.Equal("1410 W RANDOLPH ST, CHICAGO", (await IncidentAsync(incident))["incident"]!["address"]!.GetValue<string>());
        await using (var c = new NpgsqlConnection(ConnectionString)) // the one notice is the earlier move's: none was queued for this one
            Assert.Equal(1, await c.ExecuteScalarAsync<int>(
                "select count(*) from notification_deliveries where incident_id = @incident and update_fields is not null", new { incident }));
    }

    private async Task<JsonNode> PostFormAsync(string fieldMappings, byte[] sample, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var form = new MultipartFormDataContent { { new StringContent(fieldMappings), "fieldMappings" }, { new ByteArrayContent(sample), "file", "sample.xml" } };
        using var response = await Admin.PostAsync("/api/v1/cfs-configurations/dry-run", form);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, body);
        return JsonNode.Parse(body)!;
    }

    private async Task<JsonNode> PostSampleAsync(string path, byte[] sample, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var content = new ByteArrayContent(sample);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/xml");
        using var response = await Admin.PostAsync(path, content);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, body);
        return JsonNode.Parse(body)!;
    }

    [Fact]
    public async Task A_mapping_with_automatic_creation_raises_and_assigns_an_incident_through_its_grain()
    {
        var (gasco, _, _) = await OnboardCompanyAsync("gasco");
        object Auto(Guid company) => new
        {
            recordXPath = "/calls/call",
            fields = new Dictionary<string, object>
            {
                ["externalId"] = new { xpath = "@id" }, ["description"] = new { xpath = "text" }, ["type"] = new { xpath = "@nature", transforms = new[] { "lower" } },
                ["priority"] = new { xpath = "@p", map = new Dictionary<string, string> { ["1"] = "irod" } },
            },
            autoCreate = new { companiesByType = new Dictionary<string, Guid[]> { ["gas"] = [company] } },
        };
        var stranger = await SendAsync(Admin, HttpMethod.Post, "/api/v1/cfs-configurations",
            new { name = "auto", inboxPath = _inbox, pollIntervalSeconds = 1, fieldMappings = Auto(Guid.NewGuid()) });
        Assert.Equal(HttpStatusCode.BadRequest, stranger.Status);
        await ConfigureAsync(_inbox, Auto(gasco));

        await File.WriteAllTextAsync(Path.Combine(_inbox, "auto.xml"),
            "<calls><call id='A-1' nature='GAS' p='1'><text>Leak at depot</text></call><call id='A-2' nature='Noise' p='1'><text>Loud music</text></call></calls>");
        await WaitForImportsAsync(1);

        var calls = (await SendAsync(Admin, HttpMethod.Get, "/api/v1/cfs-incidents")).Body!["items"]!.AsArray();
        var gas = calls.Single(c => c!["externalCfsId"]!.GetValue<string>() == "A-1")!;
        Assert.Null(calls.Single(c => c!["externalCfsId"]!.GetValue<string>() == "A-2")!["linkedIncidentId"]?.GetValue<Guid?>()); // no companies for noise
        var incident = await IncidentAsync(await LinkedIncidentAsync(gas["id"]!.GetValue<Guid>()));
        Assert.Equal(("irod", "Leak at depot"), (incident["incident"]!["priority"]!.GetValue<string>(), incident["incident"]!["description"]!.GetValue<string>()));
        Assert.Equal(gasco, incident["companies"]![0]!["agencyId"]!.GetValue<Guid>());
    }

    [Fact]
    public async Task A_file_still_being_written_is_read_only_when_complete_and_a_marker_holds_a_file_back()
    {
        // Scans 2 s apart: the writer below pauses 300 ms between writes, so only a stall of seconds could look complete.
        // Two inboxes side by side (an inbox may not lie inside another).
        var inbox = Directory.CreateDirectory(Path.Combine(_inbox, "slow")).FullName;
        await ConfigureAsync(inbox, Mappings(), pollIntervalSeconds: 2);
        var marked = Directory.CreateDirectory(Path.Combine(_inbox, "marked")).FullName;
        await ConfigureAsync(marked, Mappings(marker: ".done"));

        // A writer appending a record every 300 ms for 4 s, while the Silo scans every 2 s.
        var path = Path.Combine(inbox, "slow.xml");
        await using (var writer = new StreamWriter(path, append: false, Encoding.UTF8))
        {
            await writer.WriteAsync("<?xml version=\"1.0\"?><Export xmlns=\"urn:example:cad:v2\">");
            for (var i = 0; i < 14; i++)
            {
                await writer.WriteAsync($"<Call id=\"S-{i}\"><Narrative>part {i}</Narrative></Call>");
                await writer.FlushAsync();
                await Task.Delay(300);
            }
            await writer.WriteAsync("</Export>");
        }
        await File.WriteAllTextAsync(Path.Combine(marked, "held.xml"), Export(("M-1", "held back")));
        await WaitForImportsAsync(1);
        await Task.Delay(TimeSpan.FromSeconds(3));

        var imports = await ImportsAsync();
        var slow = Assert.Single(imports); // the marked file has no marker yet
        Assert.Equal(("imported", 14), (slow["status"]!.GetValue<string>(), slow["recordCount"]!.GetValue<int>()));
        Assert.True(File.Exists(Path.Combine(marked, "held.xml")));

        await File.WriteAllTextAsync(Path.Combine(marked, "held.xml.done"), "");
        await WaitForImportsAsync(2);
        Assert.False(File.Exists(Path.Combine(marked, "held.xml.done")));
        Assert.True(File.Exists(Path.Combine(marked, "processed", "held.xml")));
    }

    [Fact]
    public async Task A_50_mb_file_is_refused_unread_and_the_next_file_still_flows()
    {
        await ConfigureAsync(_inbox, Mappings());
        await using (var big = File.Create(Path.Combine(_inbox, "a-huge.xml")))
        {
            var chunk = Encoding.UTF8.GetBytes(new string('x', 1024 * 1024));
            for (var i = 0; i < 50; i++) await big.WriteAsync(chunk);
        }
        await File.WriteAllTextAsync(Path.Combine(_inbox, "b-normal.xml"), Export(("N-1", "normal")));
        await WaitForImportsAsync(2);

        var imports = await ImportsAsync();
        var huge = imports.Single(i => i["filename"]!.GetValue<string>() == "a-huge.xml");
        Assert.Equal("failed", huge["status"]!.GetValue<string>());
        Assert.Contains("over the limit", huge["error"]!.GetValue<string>());
        Assert.Equal("imported", imports.Single(i => i["filename"]!.GetValue<string>() == "b-normal.xml")["status"]!.GetValue<string>());
        Assert.True(File.Exists(Path.Combine(_inbox, "failed", "a-huge.xml.reason.txt")));
    }

    [Fact]
    public async Task Two_silos_and_a_killed_one_import_every_file_and_record_exactly_once()
    {
        await ConfigureAsync(_inbox, Mappings());
        await using var second = SiloProcess.Start(this, SiloSettings);
        const int files = 120, perFile = 20;
        for (var f = 0; f < files; f++)
            await File.WriteAllTextAsync(Path.Combine(_inbox, $"batch-{f:D3}.xml"),
                Export(Enumerable.Range(0, perFile).Select(r => ($"K-{f}-{r}", $"call {f}/{r}")).ToArray()));

        await WaitForImportsAsync(3, 60);
        await Silo!.KillAsync(); // whichever holds the lease is killed mid-run
        await second.KillAsync();
        var beforeRestart = (await ImportsAsync()).Count;
        await StartSiloAsync();
        await Wait.UntilAsync(async () => (await ImportsAsync(CfsImportStatus.Imported)).Count >= files, TimeSpan.FromSeconds(90), () => Silo!.Output);
        await Wait.UntilAsync(() => Task.FromResult(Directory.GetFiles(_inbox, "*.xml").Length == 0), TimeSpan.FromSeconds(30), () => Silo!.Output);

        await using var c = new NpgsqlConnection(ConnectionString);
        Assert.True(beforeRestart < files, "every file was imported before the kill; the test proves nothing");
        Assert.Equal(files, await c.ExecuteScalarAsync<int>("select count(distinct file_hash) from cfs_imports where status = 'imported'"));
        Assert.Equal(files, await c.ExecuteScalarAsync<int>("select count(*) from cfs_imports where status = 'imported'"));
        Assert.Equal(files * perFile, await c.ExecuteScalarAsync<int>("select count(*) from cfs_incidents"));
        Assert.Equal(files * perFile, await c.ExecuteScalarAsync<int>("select count(*) from cfs_incidents where version = 1")); // none imported twice
        Assert.Equal(0, await c.ExecuteScalarAsync<int>("select count(*) from cfs_imports where status = 'failed'"));
        Assert.Equal(files, Directory.GetFiles(Path.Combine(_inbox, "processed")).Length -
            await c.ExecuteScalarAsync<int>("select count(*) from cfs_imports where status = 'duplicate'"));
    }
}
