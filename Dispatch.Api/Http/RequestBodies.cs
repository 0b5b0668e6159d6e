namespace Dispatch.Api.Http;

/// <summary>A raw request body (a sample file, an EIDO), read into memory up to a limit.</summary>
internal static class RequestBodies
{
    /// <returns>The body, positioned at its start; or a 400 problem on <paramref name="field"/> when it is over the limit or empty.</returns>
    public static async Task<(MemoryStream? Body, ValidationProblem? Problem)> ReadAsync(HttpRequest request, long limit, string field, string overLimit,
        string empty, CancellationToken ct)
    {
        var body = new MemoryStream();
        var buffer = new byte[81920];
        int read;
        while ((read = await request.Body.ReadAsync(buffer, ct)) > 0)
        {
            if (body.Length + read > limit) return (null, Problems.Field(field, overLimit));
            body.Write(buffer, 0, read);
        }
        if (body.Length == 0) return (null, Problems.Field(field, empty));
        body.Position = 0;
        return (body, null);
    }
}
