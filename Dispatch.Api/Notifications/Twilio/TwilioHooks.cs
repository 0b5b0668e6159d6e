using System.Security;
using Dispatch.Grains.Transports.Sms;
using FastEndpoints;

namespace Dispatch.Api.Notifications.Twilio;

// What Twilio posts: a text someone sent to a Dispatch number, and delivery reports. Believed only when the signature
// verifies (in the silo, with the account's auth token); outside the API's document, like the email link's page.

internal static class TwilioPosts
{
    public const string SignatureHeader = "X-Twilio-Signature";

    /// <summary>
    /// The request as Twilio signed it: the URL it was given — Dispatch's public address, where one is set, since a proxy in
    /// front changes what this process sees — and every form field.
    /// </summary>
    public static async Task<TwilioRequest?> ReadAsync(HttpContext http, IConfiguration configuration, CancellationToken ct)
    {
        if (!http.Request.HasFormContentType) return null;
        IFormCollection form;
        try
        {
            form = await http.Request.ReadFormAsync(ct);
        }
        catch (InvalidDataException)
        {
            return null;
        }
        var path = http.Request.Path + http.Request.QueryString;
        var url = Uri.TryCreate(configuration["Dispatch:PublicUrl"], UriKind.Absolute, out var publicUrl)
            ? new Uri(publicUrl, path).ToString()
            : $"{http.Request.Scheme}://{http.Request.Host}{path}";
        return new TwilioRequest(url, form.ToDictionary(f => f.Key, f => f.Value.ToString()), http.Request.Headers[SignatureHeader].ToString());
    }

    /// <summary>The delivery a call's or a report's URL names (<c>?d=</c>, set when Dispatch sent it; Twilio's signature covers it), or null.</summary>
    public static Guid? DeliveryOf(HttpContext http) => Guid.TryParse(http.Request.Query["d"], out var delivery) ? delivery : null;

    public static IResult NotTwilio() => TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden",
        detail: $"The request does not carry a valid {SignatureHeader} for the account it names.");

    public static IResult NotAForm() => TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type",
        detail: "Twilio posts application/x-www-form-urlencoded.");
}

public sealed class ReceiveTwilioSms(IClusterClient grains, IConfiguration configuration) : EndpointWithoutRequest<IResult>
{
    public override void Configure()
    {
        Post("/hooks/sms/twilio");
        AllowAnonymous();
        Description(d => d.WithTags("Inbound hooks").ExcludeFromDescription());
    }

    public override async Task<IResult> ExecuteAsync(CancellationToken ct)
    {
        if (await TwilioPosts.ReadAsync(HttpContext, configuration, ct) is not { } request) return TwilioPosts.NotAForm();
        var answer = await grains.GetGrain<ITwilioInboxGrain>(0).ReceiveAsync(request);
        if (!answer.Verified) return TwilioPosts.NotTwilio();
        // TwiML: Twilio texts the reply back to the sender.
        return TypedResults.Content($"""<?xml version="1.0" encoding="UTF-8"?><Response><Message>{SecurityElement.Escape(answer.Reply)}</Message></Response>""",
            "text/xml; charset=utf-8");
    }
}

public sealed class TwilioSmsStatus(IClusterClient grains, IConfiguration configuration) : EndpointWithoutRequest<IResult>
{
    public override void Configure()
    {
        Post(SmsTransport.StatusPath);
        AllowAnonymous();
        Description(d => d.WithTags("Inbound hooks").ExcludeFromDescription());
    }

    public override async Task<IResult> ExecuteAsync(CancellationToken ct)
    {
        if (await TwilioPosts.ReadAsync(HttpContext, configuration, ct) is not { } request) return TwilioPosts.NotAForm();
        var answer = await grains.GetGrain<ITwilioInboxGrain>(0).StatusAsync(request, TwilioPosts.DeliveryOf(HttpContext));
        return answer.Verified ? TypedResults.NoContent() : TwilioPosts.NotTwilio();
    }
}

public sealed class TwilioVoice(IClusterClient grains, IConfiguration configuration) : EndpointWithoutRequest<IResult>
{
    public override void Configure()
    {
        Post(VoiceTransport.Path);
        AllowAnonymous();
        Description(d => d.WithTags("Inbound hooks").ExcludeFromDescription());
    }

    public override async Task<IResult> ExecuteAsync(CancellationToken ct)
    {
        if (await TwilioPosts.ReadAsync(HttpContext, configuration, ct) is not { } request) return TwilioPosts.NotAForm();
        if (TwilioPosts.DeliveryOf(HttpContext) is not { } delivery)
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad request", detail: "The call's URL names no delivery (d).");
        var answer = await grains.GetGrain<ITwilioInboxGrain>(0).CallAsync(request, delivery);
        return answer.Verified ? TypedResults.Content(answer.Reply, "text/xml; charset=utf-8") : TwilioPosts.NotTwilio();
    }
}

public sealed class TwilioVoiceStatus(IClusterClient grains, IConfiguration configuration) : EndpointWithoutRequest<IResult>
{
    public override void Configure()
    {
        Post(VoiceTransport.StatusPath);
        AllowAnonymous();
        Description(d => d.WithTags("Inbound hooks").ExcludeFromDescription());
    }

    public override async Task<IResult> ExecuteAsync(CancellationToken ct)
    {
        if (await TwilioPosts.ReadAsync(HttpContext, configuration, ct) is not { } request) return TwilioPosts.NotAForm();
        var answer = await grains.GetGrain<ITwilioInboxGrain>(0).CallStatusAsync(request, TwilioPosts.DeliveryOf(HttpContext));
        return answer.Verified ? TypedResults.NoContent() : TwilioPosts.NotTwilio();
    }
}
