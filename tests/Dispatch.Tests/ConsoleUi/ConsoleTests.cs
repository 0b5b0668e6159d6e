using System.Diagnostics;
using System.Net;
using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Dispatch.Tests.Escalation;
using Microsoft.Playwright;

namespace Dispatch.Tests.ConsoleUi;

/// <summary>
/// The console in a real browser (Debian's chromium, driven by Playwright) against the real Api, a Silo process and the SMTP
/// server: a dispatcher and a responder, each in their own browser context, as two people at two screens.
/// </summary>
[Trait("Tier", "Full")] // real processes: a Silo and a browser
public sealed class ConsoleTests : EscalationWorld
{
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    /// <summary>Where the console's screenshots go when asked for (<c>DISPATCH_SCREENSHOTS</c>, see README); nowhere otherwise.</summary>
    private static readonly string? Screenshots = Environment.GetEnvironmentVariable("DISPATCH_SCREENSHOTS");

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Browser.Path, Headless = true, Args = ["--no-sandbox", "--disable-dev-shm-usage"],
        });
    }

    public override async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        await base.DisposeAsync();
    }

    private async Task<IPage> SignInAsync(string email, string password, int width = 1280)
    {
        var context = await _browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = 900 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(15_000);
        await page.GotoAsync(new Uri(Anonymous.BaseAddress!, "/console").ToString());
        await page.GetByLabel("Email", new() { Exact = true }).FillAsync(email);
        await page.GetByLabel("Password", new() { Exact = true }).FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.Locator("#live")).ToHaveTextAsync("● Live"); // signed in, and the board's stream is open
        return page;
    }

    private static async Task ShotAsync(IPage page, string name)
    {
        if (Screenshots is null) return;
        Directory.CreateDirectory(Screenshots);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, name + ".png"), FullPage = true });
    }

    [Fact]
    public async Task A_dispatcher_raises_an_incident_the_responder_acknowledges_and_the_board_turns_acknowledged_without_a_reload()
    {
        await SetUpAsync(repeatCount: 0);
        var dispatcher = await SignInAsync(AdminEmail, AdminPassword);

        await dispatcher.GetByRole(AriaRole.Link, new() { Name = "Raise an incident" }).ClickAsync();
        await dispatcher.GetByLabel("Priority").SelectOptionAsync("critical");
        await dispatcher.GetByLabel("Title").FillAsync("Gas smell at 5th and Main");
        await dispatcher.GetByLabel("Description").FillAsync("Caller reports a strong smell of gas outside the bakery.");
        await dispatcher.GetByLabel("Address").FillAsync("500 Main St");
        await dispatcher.GetByLabel("gasco").CheckAsync();
        await dispatcher.GetByRole(AriaRole.Button, new() { Name = "Raise incident" }).ClickAsync();

        // The board shows the company notified: waiting on its first tier, the on-call responder's email sent.
        var card = dispatcher.Locator("article", new() { HasText = "Gas smell at 5th and Main" });
        var gasco = card.Locator("tr", new() { HasText = "gasco" });
        await Assertions.Expect(gasco).ToContainTextAsync("Waiting — tier 1");
        await Assertions.Expect(gasco).ToContainTextAsync("Tier 1: Resp Onder — pending"); // who was notified, by name
        await Assertions.Expect(gasco).ToContainTextAsync("email: sent");
        await dispatcher.EvaluateAsync("() => { window.notReloaded = true; }");
        await ShotAsync(dispatcher, "board");

        // The responder, on a phone-sized screen, acknowledges with one tap.
        var responder = await SignInAsync("oncall@gasco.example", "responding to calls", width: 390);
        var mine = responder.Locator("article", new() { HasText = "Gas smell at 5th and Main" });
        await Assertions.Expect(mine).ToContainTextAsync("500 Main St");
        await ShotAsync(responder, "responder");
        await mine.GetByRole(AriaRole.Button, new() { Name = "Acknowledge" }).ClickAsync();
        var acknowledged = Stopwatch.StartNew();
        await Assertions.Expect(responder.Locator("article", new() { HasText = "Gas smell at 5th and Main" })).ToContainTextAsync("Your company acknowledged");

        // The dispatcher's board turns, pushed from the incident's grain through the Api's stream: no reload, no polling.
        await Assertions.Expect(gasco).ToContainTextAsync("Acknowledged by Resp Onder");
        var seenAfter = acknowledged.Elapsed;
        Assert.True(await dispatcher.EvaluateAsync<bool>("() => window.notReloaded === true"));
        await Assertions.Expect(gasco.Locator(".countdown")).ToHaveCountAsync(0); // no deadline left to count down
        System.Console.WriteLine($"board turned acknowledged {seenAfter.TotalMilliseconds:0} ms after the responder's acknowledgement was answered");
    }

    [Fact]
    public async Task A_company_that_does_not_acknowledge_visibly_escalates_on_the_board()
    {
        await SetUpAsync(repeatCount: 0);
        var incident = await RaiseAsync("irod", Gasco);
        var dispatcher = await SignInAsync(AdminEmail, AdminPassword);
        var gasco = dispatcher.Locator($"article[data-incident='{incident}'] tr", new() { HasText = "gasco" });
        await Assertions.Expect(gasco).ToContainTextAsync("Waiting — tier 1");
        await Assertions.Expect(gasco.Locator(".countdown")).ToHaveCountAsync(1); // the first tier's deadline, counting down

        await MoveDeadlinesAsync(0, "incident_id = @incident", new { incident }); // nobody at gasco answered in time
        await Assertions.Expect(gasco).ToContainTextAsync("ESCALATED — tier 2");
        await Assertions.Expect(dispatcher.Locator($"article[data-incident='{incident}'] .alert")).ToContainTextAsync("PSAP alert sent to Bootstrap Admin");
        await Assertions.Expect(gasco).ToContainTextAsync("Tier 2: Resp Onder — pending");
    }

    [Fact]
    public async Task Who_an_incident_reached_is_shown_to_its_psap_and_to_each_company_only_for_its_own_people()
    {
        await SetUpAsync(repeatCount: 0);
        var watco = await CompanyWithRuleAsync("watco", "email");
        var incident = await RaiseAsync("critical", Gasco, watco);
        await Wait.UntilAsync(async () => (await SendAsync(Admin, HttpMethod.Get, $"/api/v1/incidents/{incident}/people")).Body!.AsArray().Count == 2,
            TimeSpan.FromSeconds(30), () => Silo!.Output);

        var psapView = (await SendAsync(Admin, HttpMethod.Get, $"/api/v1/incidents/{incident}/people")).Body!.AsArray();
        Assert.Equal(["admin@watco.example", "oncall@gasco.example"], psapView.Select(p => p!["email"]!.GetValue<string>()).Order());
        var gascoView = (await SendAsync(await AsResponderAsync("oncall@gasco.example"), HttpMethod.Get, $"/api/v1/incidents/{incident}/people")).Body!.AsArray();
        Assert.Equal(["oncall@gasco.example"], gascoView.Select(p => p!["email"]!.GetValue<string>()));
        var (_, otherEmail, otherPassword) = await OnboardCompanyAsync("railco"); // linked to the PSAP, not on this incident
        using var railco = As("Bearer " + (await LoginAsync(otherEmail, otherPassword)).AccessToken);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(railco, HttpMethod.Get, $"/api/v1/incidents/{incident}/people")).Status);
    }

    [Fact]
    public async Task An_admin_adds_a_user_and_a_channel_through_the_pages()
    {
        await SetUpAsync(repeatCount: 0);
        var admin = await SignInAsync(AdminEmail, AdminPassword);

        await admin.GetByRole(AriaRole.Link, new() { Name = "Users", Exact = true }).ClickAsync();
        var form = admin.Locator("#user-form");
        await form.GetByLabel("Email", new() { Exact = true }).FillAsync("night.dispatcher@metro911.example");
        await form.GetByLabel("First name").FillAsync("Night");
        await form.GetByLabel("Last name").FillAsync("Dispatcher");
        await form.GetByLabel("Initial password").FillAsync("a long night shift password");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Add user" }).ClickAsync();
        await Assertions.Expect(admin.Locator("#users")).ToContainTextAsync("night.dispatcher@metro911.example");
        await ShotAsync(admin, "admin-users");

        await admin.GetByRole(AriaRole.Link, new() { Name = "Channels", Exact = true }).ClickAsync();
        var channel = admin.Locator("#channel-form");
        await channel.GetByLabel("Transport").SelectOptionAsync("webhook");
        await channel.GetByLabel("Name", new() { Exact = true }).FillAsync("Floor display");
        await channel.GetByLabel("url", new() { Exact = true }).FillAsync(Webhooks.Url.ToString());
        await channel.GetByLabel("secret", new() { Exact = true }).FillAsync("floor-display-signing-secret");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Add channel" }).ClickAsync();
        await Assertions.Expect(admin.Locator("#channels")).ToContainTextAsync("Floor display");

        // A mistake gets the API's own explanation on the page, not a silent failure.
        await channel.GetByLabel("Transport").SelectOptionAsync("webhook");
        await channel.GetByLabel("Name", new() { Exact = true }).FillAsync("Broken");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Add channel" }).ClickAsync();
        await Assertions.Expect(admin.Locator("#channel-form [role=alert]")).ToContainTextAsync("url");

        // A role of its own, and a channel that serves only IROD incidents at night.
        await admin.GetByRole(AriaRole.Link, new() { Name = "Roles", Exact = true }).ClickAsync();
        var roleForm = admin.Locator("#role-form");
        await roleForm.GetByLabel("Name", new() { Exact = true }).FillAsync("Night supervisor");
        await roleForm.GetByLabel("Short name (letters, digits, dashes)").FillAsync("night-supervisor");
        await roleForm.GetByLabel("incidents.read", new() { Exact = true }).CheckAsync();
        await roleForm.GetByRole(AriaRole.Button, new() { Name = "Add role" }).ClickAsync();
        await Assertions.Expect(admin.Locator("#roles")).ToContainTextAsync("Night supervisor");
        await admin.GetByRole(AriaRole.Link, new() { Name = "Channel rules", Exact = true }).ClickAsync();
        var ruleForm = admin.Locator("#channel-rule-form");
        await ruleForm.GetByLabel("Channel", new() { Exact = true }).SelectOptionAsync(new SelectOptionValue { Label = "Floor display" });
        await ruleForm.GetByLabel("IROD", new() { Exact = true }).CheckAsync();
        await ruleForm.GetByLabel("From (time of day, empty: always)").FillAsync("22:00");
        await ruleForm.GetByLabel("Until").FillAsync("06:00");
        await ruleForm.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();
        await Assertions.Expect(admin.Locator("#channel-rules")).ToContainTextAsync("22:00–06:00");

        // A key is shown once, on the page that made it, and never again.
        await admin.GetByRole(AriaRole.Link, new() { Name = "API keys" }).ClickAsync();
        var keyForm = admin.Locator("#key-form");
        await keyForm.GetByLabel("Name", new() { Exact = true }).FillAsync("wallboard");
        await keyForm.GetByLabel("incidents.read", new() { Exact = true }).CheckAsync();
        await keyForm.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        var shown = admin.Locator("#shown-once code");
        await Assertions.Expect(shown).ToContainTextAsync("dsp_");
        var key = await shown.TextContentAsync();
        using (var wallboard = As("ApiKey " + key)) Assert.Equal(HttpStatusCode.OK, (await SendAsync(wallboard, HttpMethod.Get, "/api/v1/incidents")).Status);
        await admin.ReloadAsync();
        await Assertions.Expect(admin.Locator("#keys")).ToContainTextAsync("wallboard");
        Assert.DoesNotContain(key!, await admin.ContentAsync());

        // A CAD link with a heartbeat watch, its key and signing secret shown once.
        await admin.GetByRole(AriaRole.Link, new() { Name = "CAD links" }).ClickAsync();
        var cad = admin.Locator("#cad-form");
        await cad.GetByLabel("Name", new() { Exact = true }).FillAsync("County CAD");
        await cad.GetByLabel("Heartbeat every (seconds, empty for none)").FillAsync("60");
        await cad.GetByLabel("Bootstrap Admin").CheckAsync();
        await cad.GetByRole(AriaRole.Button, new() { Name = "Connect" }).ClickAsync();
        await Assertions.Expect(admin.Locator("#shown-once")).ToContainTextAsync("Callback signing secret");
        await Assertions.Expect(admin.Locator("#connections")).ToContainTextAsync("ok (every 60 s)");
    }

    [Fact]
    public async Task A_responder_orders_their_own_channels_and_a_company_admin_sets_up_escalation_tiers()
    {
        await SetUpAsync(repeatCount: 0);
        var responder = await SignInAsync("oncall@gasco.example", "responding to calls");
        await responder.GetByRole(AriaRole.Link, new() { Name = "My channels" }).ClickAsync();
        await responder.GetByRole(AriaRole.Button, new() { Name = "Add a channel" }).ClickAsync();
        await responder.GetByLabel("My address on channel 1 (phone, email, chat)").FillAsync("oncall.mobile@gasco.example");
        await responder.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(responder.Locator("#preferences-form [role=alert]")).ToHaveTextAsync("Saved.");
        var saved = (await SendAsync(await AsResponderAsync("oncall@gasco.example"), HttpMethod.Get, $"/api/v1/users/{Oncall}/transport-preferences")).Body!;
        var only = Assert.Single(saved.AsArray())!;
        Assert.Equal("oncall.mobile@gasco.example", only["configOverride"]!["to"]!.GetValue<string>());

        // A company with people and no escalation rule yet: its admin writes the first one through the page.
        var (watco, watcoAdmin, watcoPassword) = await OnboardCompanyAsync("watco");
        await ResponderAsync(watco, "first@watco.example");
        await ResponderAsync(watco, "second@watco.example");
        var admin = await SignInAsync(watcoAdmin, watcoPassword);
        await admin.GetByRole(AriaRole.Link, new() { Name = "Escalation" }).ClickAsync();
        var form = admin.Locator("#escalation-form");
        await form.GetByLabel("Seconds each tier has to acknowledge").FillAsync("120");
        await form.GetByLabel("IROD", new() { Exact = true }).CheckAsync();
        await form.Locator("fieldset", new() { HasText = "Tier 1" }).GetByLabel("Resp Onder").First.CheckAsync();
        await form.GetByRole(AriaRole.Button, new() { Name = "Add a tier" }).ClickAsync();
        await form.Locator("fieldset", new() { HasText = "Tier 2" }).GetByLabel("Resp Onder").Last.CheckAsync();
        await form.GetByLabel("Bootstrap Admin (Metro 911)").CheckAsync(); // the PSAP's people, by name, not by id
        await form.GetByRole(AriaRole.Button, new() { Name = "Save rule" }).ClickAsync();
        var rules = admin.Locator("#rules");
        await Assertions.Expect(rules).ToContainTextAsync("120 s");
        await Assertions.Expect(rules).ToContainTextAsync("irod");
        await Assertions.Expect(rules).ToContainTextAsync("1: Resp Onder → 2: Resp Onder");
        await Assertions.Expect(rules).ToContainTextAsync("Bootstrap Admin (Metro 911)");
    }

    [Fact]
    public async Task The_board_the_responder_view_and_the_admin_pages_pass_an_accessibility_audit()
    {
        await SetUpAsync(repeatCount: 0);
        var incident = await RaiseAsync("critical", Gasco);
        var dispatcher = await SignInAsync(AdminEmail, AdminPassword);
        await Assertions.Expect(dispatcher.Locator($"article[data-incident='{incident}']")).ToContainTextAsync("email: sent");
        var failures = new List<string>();
        async Task AuditAsync(IPage page, string what)
        {
            // axe-core (bundled with the package, nothing fetched) against WCAG 2.x A and AA: labels, names, contrast, landmarks.
            var result = await page.RunAxe(new AxeRunOptions { RunOnly = new RunOnlyOptions { Type = "tag", Values = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
            Assert.True(result.Passes.Length > 10, $"{what}: the audit checked almost nothing ({result.Passes.Length} rules passed)");
            failures.AddRange(result.Violations.Select(v => $"{what}: {v.Id} ({v.Impact}) {v.Help} — {string.Join(", ", v.Nodes.Select(n => n.Html).Take(2))}"));
        }
        await AuditAsync(dispatcher, "board");
        foreach (var (link, page) in new[] { ("Raise an incident", "raise"), ("My channels", "my channels"), ("Users", "users"), ("Roles", "roles"),
                     ("Channels", "channels"), ("Channel rules", "channel rules"), ("CAD links", "cad links"), ("API keys", "api keys") })
        {
            await dispatcher.GetByRole(AriaRole.Link, new() { Name = link, Exact = true }).ClickAsync();
            await Assertions.Expect(dispatcher.Locator("#view h1")).Not.ToHaveTextAsync("Open incidents");
            await Assertions.Expect(dispatcher.Locator("form")).Not.ToHaveCountAsync(0);
            await AuditAsync(dispatcher, page);
        }
        var responder = await SignInAsync("oncall@gasco.example", "responding to calls", width: 390);
        await Assertions.Expect(responder.GetByRole(AriaRole.Button, new() { Name = "Acknowledge" })).ToBeVisibleAsync();
        await AuditAsync(responder, "responder");
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Fact]
    public async Task The_console_is_served_with_a_policy_that_allows_no_inline_script_or_anything_from_elsewhere()
    {
        using var page = await Anonymous.GetAsync("/console");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var policy = string.Join(";", page.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("script-src 'self'", policy);
        Assert.DoesNotContain("unsafe-inline", policy);
        Assert.DoesNotContain("unsafe-eval", policy);
        var html = await page.Content.ReadAsStringAsync();
        Assert.DoesNotMatch("<script(?![^>]*\\ssrc=)", html); // every script is a file of the console's own
        Assert.DoesNotContain("http", html.Replace("http-equiv", "")); // nothing from elsewhere
        Assert.Equal(HttpStatusCode.NotFound, (await Anonymous.GetAsync("/console/secrets.json")).StatusCode);
    }
}

/// <summary>The browser the tests drive: Debian's chromium (Playwright's own download cannot be fetched here).</summary>
internal static class Browser
{
    public static string Path => Environment.GetEnvironmentVariable("DISPATCH_CHROMIUM")
        ?? new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("No chromium found: apt-get install chromium (or set DISPATCH_CHROMIUM).");
}
