using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Dispatch.Grains.Identity;
using Dispatch.Tests.Infrastructure;

namespace Dispatch.Tests.Api;

/// <summary>
/// A client's mistake is a 4xx with problem details, never a 5xx: every operation of the OpenAPI document is walked with malformed
/// paths, query values and bodies, as an authorized PSAP admin and company admin (so the requests get past authorization).
/// </summary>
public sealed class MalformedRequestTests : IdentityHost
{
    private static readonly string[] PathValues = [Guid.NewGuid().ToString(), "%00", "not-a-guid", "-1", new string('9', 300)];
    private static readonly string[] QueryValues = ["%00", "2147483647", "2147483648", "-2147483648", "99999999999999999999", "abc", "%FF%FE", "%ED%A0%80"];
    private static readonly string[] Bodies =
    [
        "", "{", "[]", "null", "123", "\"text\"", "{\"\\u0000\": 1}", "{\"name\": \"\\u0000\"}", "{\"a\": {\"b\": [\"\\u0000\"]}}",
        "{\"x\":" + new string('[', 100) + new string(']', 100) + "}",
        "{\"name\": \"\\ud800\"}", "{\"\\udfff\": 1}", "{\"a\": [\"x\\ud800y\"]}", // unpaired surrogates, escaped
        "{\"n\": 1e999999}", "{\"n\": -99999999999999999999999}",
    ];

    private const string Json = "application/json; charset=utf-8";

    private JsonObject _document = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _document = JsonNode.Parse(await Anonymous.GetStringAsync("/openapi/v1.json"))!.AsObject();
    }

    [Fact]
    [Trait("Tier", "Full")] // a few thousand requests: the full suite's, not the fast tier's
    public async Task Every_operation_answers_malformed_input_with_a_4xx_problem_and_never_a_5xx()
    {
        var (_, email, password) = await OnboardCompanyAsync("gasco");
        using var psap = await AsAdminAsync();
        using var company = As("Bearer " + (await LoginAsync(email, password)).AccessToken);
        var failures = new List<string>();
        var sent = 0;

        foreach (var (path, method, operation) in Operations())
        {
            // As the kind of agency that holds the operation's permission, so the request gets past authorization to the validation.
            var permission = PermissionOf(operation);
            var client = permission is null || Permissions.AllowedFor(AgencyType.Psap).Contains(permission) ? psap : company;
            await Parallel.ForEachAsync(Requests(path, method, operation).ToList(), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (request, _) =>
            {
                using var message = new HttpRequestMessage(new HttpMethod(method), request.Url);
                if (request.Body is not null)
                {
                    message.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(request.Body));
                    message.Content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType);
                }
                if (request.Accept is not null) message.Headers.TryAddWithoutValidation("Accept", request.Accept);
                using var response = await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead);
                Interlocked.Increment(ref sent);
                var status = (int)response.StatusCode;
                // A live event stream that opened is an answer (it never ends by itself): its status is what counts.
                var body = IsEventStream(response) ? "" : await response.Content.ReadAsStringAsync();
                // Kestrel itself refuses a NUL in the request target (400, empty, connection closed) before any application code runs;
                // that answer cannot be customised, so it is checked for what it is.
                var refusedByServer = request.Url.Split('?')[0].Contains("%00") && status == 400 && response.Headers.ConnectionClose == true;
                lock (failures)
                {
                    if (status >= 500)
                        failures.Add($"{method} {request.Url} {Shorten(request.Body)} [{request.ContentType}] -> {status} {Shorten(body)}");
                    else if (status >= 400 && !refusedByServer
                             && (response.Content.Headers.ContentType?.MediaType != "application/problem+json" || body.Length == 0))
                        failures.Add($"{method} {request.Url} {Shorten(request.Body)} [{request.ContentType}] -> {status} without problem details ({response.Content.Headers.ContentType})");
                }
            });
        }

        Assert.True(sent > 1000, $"only {sent} requests");
        Assert.True(Operations().Count() >= 60, "the OpenAPI document lists too few operations");
        Assert.True(failures.Count == 0, $"{failures.Count} of {sent}:\n" + string.Join('\n', failures.Distinct().Take(40)));
    }

    [Fact]
    public async Task A_get_with_a_content_type_but_no_body_is_answered_as_without_one()
    {
        using var admin = await AsAdminAsync();
        foreach (var (path, method, _) in Operations().Where(o => o.Method == "GET" && !o.Path.Contains('{')))
        {
            using var plain = await admin.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
            using var withType = new HttpRequestMessage(HttpMethod.Get, path) { Content = new ByteArrayContent([]) };
            withType.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
            using var answered = await admin.SendAsync(withType, HttpCompletionOption.ResponseHeadersRead);
            Assert.True(plain.StatusCode == answered.StatusCode, $"{method} {path}: {plain.StatusCode} without Content-Type, {answered.StatusCode} with");
        }
    }

    [Fact]
    public async Task Lists_in_a_request_are_bounded_and_duplicates_collapse()
    {
        using var admin = await AsAdminAsync();
        var (gasco, _, _) = await OnboardCompanyAsync("gasco");
        var twice = await SendAsync(admin, HttpMethod.Post, "/api/v1/incidents", new { priority = "critical", title = "Leak", agencyIds = new[] { gasco, gasco } });
        Assert.Equal(HttpStatusCode.Created, twice.Status);
        Assert.Single(twice.Body!["companies"]!.AsArray());

        var id = twice.Body["incident"]!["id"]!.GetValue<Guid>();
        var huge = await SendAsync(admin, HttpMethod.Post, $"/api/v1/incidents/{id}/agencies", new { agencyIds = Enumerable.Repeat(gasco, 100_000) });
        Assert.Equal(HttpStatusCode.BadRequest, huge.Status);
        Assert.Contains("at most 100", huge.Body!["errors"]!["agencyIds"]![0]!.GetValue<string>());
        // The incident's grain was never asked: an acknowledgement-side read answers at once.
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(admin, HttpMethod.Get, $"/api/v1/incidents/{id}")).Status);
    }

    [Fact]
    public async Task A_cad_sample_nested_deeper_than_any_cad_writes_is_a_400()
    {
        using var admin = await AsAdminAsync();
        var deep = new StringBuilder();
        for (var i = 0; i < 10_000; i++) deep.Append("<a>");
        for (var i = 0; i < 10_000; i++) deep.Append("</a>");
        using var content = new StringContent(deep.ToString(), Encoding.UTF8, "application/xml");
        using var response = await admin.PostAsync("/api/v1/cfs-configurations/dry-run", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("nested more than", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_largest_page_number_is_an_empty_page_not_an_error()
    {
        using var admin = await AsAdminAsync();
        var page = await SendAsync(admin, HttpMethod.Get, "/api/v1/users?page=2147483647&pageSize=200");

        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Empty(page.Body!["items"]!.AsArray());
        Assert.Equal(1, page.Body["total"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_nul_anywhere_in_a_body_is_refused_with_where_it_was()
    {
        using var admin = await AsAdminAsync();
        var inTitle = await SendAsync(admin, HttpMethod.Post, "/api/v1/incidents", new { priority = "critical", title = "Gas\u0000leak" });
        // Deep inside a free-form JSON object that is stored as jsonb.
        var (_, email, password) = await OnboardCompanyAsync("gasco");
        using var company = As("Bearer " + (await LoginAsync(email, password)).AccessToken);
        var inConfig = await SendAsync(company, HttpMethod.Post, "/api/v1/transport-channels",
            new { transportType = "email", name = "mail", config = new { to = "ops@gasco.example\u0000" } });

        Assert.Equal(HttpStatusCode.BadRequest, inTitle.Status);
        Assert.Contains("$.title", inTitle.Body!["detail"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, inConfig.Status);
        Assert.Contains("$.config.to", inConfig.Body!["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task Values_that_cannot_be_bound_are_named_in_a_validation_problem()
    {
        using var admin = await AsAdminAsync();

        var badPage = await SendAsync(admin, HttpMethod.Get, "/api/v1/incidents?page=abc&pageSize=0");
        var badBody = await SendAsync(admin, HttpMethod.Post, "/api/v1/incidents", new { priority = "critical", title = "Leak", agencyIds = "gasco" });

        Assert.Equal(HttpStatusCode.BadRequest, badPage.Status);
        Assert.Contains("abc", badPage.Body!["errors"]!["page"]![0]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, badBody.Status);
        Assert.Contains("$.agencyIds", badBody.Body!["detail"]!.GetValue<string>());
        Assert.Contains("\"agencyIds\": [uuid]", badBody.Body!["detail"]!.GetValue<string>());
        Assert.DoesNotContain("idempotencyKey", badBody.Body!["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_body_of_the_wrong_shape_is_told_the_shape_expected()
    {
        using var admin = await AsAdminAsync();
        var me = (await SendAsync(admin, HttpMethod.Get, "/api/v1/users")).Body!["items"]![0]!["id"]!.GetValue<Guid>();

        var wrong = await SendAsync(admin, HttpMethod.Put, $"/api/v1/users/{me}/transport-preferences", new { preferences = "email first" });
        var array = await SendAsync(admin, HttpMethod.Put, $"/api/v1/users/{me}/transport-preferences", new[] { new { transportChannelId = Guid.NewGuid() } });

        Assert.Equal(HttpStatusCode.BadRequest, wrong.Status);
        var detail = wrong.Body!["detail"]!.GetValue<string>();
        Assert.Contains("$.preferences", detail);
        Assert.Contains("{\"preferences\": [{\"transportChannelId\": uuid, \"priorityOrder\": integer, \"deliveryMode\": string, \"configOverride\": object}]}", detail);
        Assert.DoesNotContain("PreferencesRequest", detail);
        Assert.Equal(HttpStatusCode.BadRequest, array.Status);
        Assert.Contains("{\"preferences\": [", array.Body!["detail"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("application/json", "{\"n\": \"x\"}")]
    [InlineData("text/plain", "n=1")]
    public async Task The_email_acknowledgement_hook_refuses_anything_but_its_form_without_a_5xx(string? contentType, string? body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/hooks/email/ack");
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, contentType!);
        using var response = await Anonymous.SendAsync(request);

        Assert.InRange((int)response.StatusCode, 400, 499);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    private static string? PermissionOf(JsonObject operation) =>
        operation["description"]?.GetValue<string>() is { } d && d.IndexOf("`", StringComparison.Ordinal) is var i and >= 0
            ? d[(i + 1)..d.IndexOf('`', i + 1)] : null;

    private static bool IsEventStream(HttpResponseMessage response) => response.Content.Headers.ContentType?.MediaType == "text/event-stream";

    private IEnumerable<(string Path, string Method, JsonObject Operation)> Operations() =>
        _document["paths"]!.AsObject().SelectMany(p => p.Value!.AsObject()
            .Where(m => m.Key is "get" or "post" or "put" or "patch" or "delete")
            .Select(m => (p.Key, m.Key.ToUpperInvariant(), m.Value!.AsObject())));

    private sealed record FuzzRequest(string Url, string? Body, string ContentType = Json, string? Accept = null);

    private IEnumerable<FuzzRequest> Requests(string path, string method, JsonObject operation)
    {
        var parameters = operation["parameters"]?.AsArray().Select(p => p!.AsObject()).ToList() ?? [];
        var queries = parameters.Where(p => p["in"]?.GetValue<string>() == "query").Select(p => p["name"]!.GetValue<string>()).ToList();
        var hasBody = method is "POST" or "PUT" or "PATCH";
        foreach (var pathValue in path.Contains('{') ? PathValues : [""])
        {
            var url = System.Text.RegularExpressions.Regex.Replace(path, "{[^}]+}", pathValue);
            yield return new FuzzRequest(url, hasBody ? "{}" : null);
            foreach (var q in queries)
            foreach (var value in QueryValues)
                yield return new FuzzRequest($"{url}?{q}={value}", hasBody ? "{}" : null);
            // Whatever the client accepts, an error is problem details with a body.
            yield return new FuzzRequest(url, hasBody ? "{" : null, Accept: "application/xml");
            // Every body with a well-formed path (PathValues[0]); the malformed paths are refused before the body matters.
            if (!hasBody || pathValue != PathValues[0] && path.Contains('{')) continue;
            foreach (var body in Bodies) yield return new FuzzRequest(url, body);
            foreach (var body in TypedBodies(operation)) yield return new FuzzRequest(url, body);
            yield return new FuzzRequest(url, "{}", "application/json; charset=no-such-charset");
            yield return new FuzzRequest(url, "{}", "application/json; charset=no-such-charset", Accept: "text/html");
            yield return new FuzzRequest(url, "{}", "application/x-www-form-urlencoded; charset=\"\"");
            // A multipart body cut short, and one whose boundary never appears.
            yield return new FuzzRequest(url, "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.xml\"\r\n\r\n<a>", "multipart/form-data; boundary=XyZ");
            yield return new FuzzRequest(url, "garbage", "multipart/form-data; boundary=XyZ");
            yield return new FuzzRequest(url, "--XyZ--\r\n", "multipart/form-data");
        }
    }

    // Each declared property of the body set to values of every wrong type, a NUL and extreme numbers.
    private IEnumerable<string> TypedBodies(JsonObject operation)
    {
        var schema = Resolve(operation["requestBody"]?["content"]?["application/json"]?["schema"]);
        var properties = schema?["properties"]?.AsObject().Select(p => p.Key).ToList() ?? [];
        JsonNode?[] values = ["\u0000", 2147483647, -1, 1e308, true, new JsonArray(), new JsonObject(), new JsonArray("\u0000"), null, new string('x', 20_000)];
        foreach (var value in values)
        {
            var body = new JsonObject();
            foreach (var p in properties) body[p] = value?.DeepClone();
            yield return body.ToJsonString();
        }
        if (properties.Count > 0) // an escaped unpaired surrogate in every property (JsonNode will not write one)
            yield return "{" + string.Join(", ", properties.Select(p => $"\"{p}\": \"\\ud800\"")) + "}";
    }

    private JsonNode? Resolve(JsonNode? schema) =>
        schema?["$ref"]?.GetValue<string>() is { } reference
            ? _document["components"]!["schemas"]![reference.Split('/').Last()]
            : schema;

    private static string Shorten(string? text) => text is null ? "" : text.Length > 120 ? text[..120] + "…" : text;
}
