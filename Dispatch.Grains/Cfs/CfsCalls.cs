using System.Text.Json;
using Dispatch.Grains.Incidents;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;

namespace Dispatch.Grains.Cfs;

/// <summary>
/// Storing a call for service, wherever it came from (a CAD export, an EIDO): inserted the first time its identity is seen within
/// its origin, updated after that — a linked incident keeping every change in its history, a new address or priority left for
/// the incident's grain to apply and tell everyone notified — and, when new and the caller says so, left for a new incident's
/// grain to raise. The incident itself is written only by its grain.
/// </summary>
internal static class CfsCalls
{
    // Every column a call's reading writes, and the parameter each takes; received_at keeps its value when a re-send omits it.
    private static readonly (string Column, string Value)[] Written =
    [
        ("cfs_import_id", "@importId"), ("call_number", "@CallNumber"), ("caller_name", "@CallerName"), ("caller_phone", "@CallerPhone"),
        ("description", "@Description"), ("address", "@Address"), ("cross_streets", "@CrossStreets"), ("raw_xml", "@raw"), ("priority", "@Priority"),
        ("incident_type", "@Type"), ("nature", "@Nature"), ("status", "@Status"), ("received_at", "@ReceivedAt"), ("received_at_text", "@ReceivedAtText"),
        ("latitude", "@Latitude"), ("longitude", "@Longitude"), ("units", "@units"), ("narrative", "@narrative::jsonb"), ("extra", "@extra::jsonb"),
        ("warnings", "@warnings::jsonb"), ("source_updated_at", "@sourceUpdatedAt"), ("updated_at", "@now"),
    ];

    private static readonly string Insert = $"""
        insert into cfs_incidents (id, source, cfs_configuration_id, eido_subscription_id, external_cfs_id, created_at, {string.Join(", ", Written.Select(w => w.Column))})
        values (@id, @source, @configurationId, @subscriptionId, @ExternalId, @now, {string.Join(", ", Written.Select(w => w.Value))})
        """;

    private static readonly string Update = $"""
        update cfs_incidents set version = version + 1, {string.Join(", ", Written.Select(w => w.Column is "received_at" or "received_at_text" or "source_updated_at"
            ? $"{w.Column} = coalesce({w.Value}, {w.Column})" : $"{w.Column} = {w.Value}"))}
        where id = @id
        """;

    /// <param name="raise">For a new call: the incident to raise, or null to keep the call for a dispatcher.</param>
    /// <param name="sourceUpdatedAt">When the sender says the call was last changed; an update older than what is stored is not applied.</param>
    public static async Task<CallUpsert> UpsertAsync(AgencyScope scope, CallOrigin origin, CfsRecord r, CallRaise? raise, DateTimeOffset? sourceUpdatedAt,
        DateTimeOffset now)
    {
        var existing = await scope.QuerySingleOrDefaultAsync<ExistingRow>($"""
            select id, call_number, caller_name, caller_phone, description, address, cross_streets, priority, incident_type, nature, status,
                   latitude, longitude, array_to_json(units)::text as units, narrative::text as narrative, linked_incident_id, source_updated_at
            from cfs_incidents where {origin.Column} = @Id and external_cfs_id = @ExternalId for update
            """, new { origin.Id, r.ExternalId });
        if (existing is { SourceUpdatedAt: { } stored } && sourceUpdatedAt is { } sent && sent < Time.Utc(stored))
        {
            if (existing.LinkedIncidentId is { } linked)
                await Communications.AppendAsync(scope, new CommunicationEntry(linked, scope.Context.AgencyId, "cfs_update_stale", "internal",
                    $"{origin.Sender} sent {origin.Label} {r.ExternalId} as it stood at {sent:u}, older than what was already received "
                    + $"({Time.Utc(stored):u}): not applied.", origin.About(existing.Id)));
            return new CallUpsert(existing.Id, false, true);
        }

        var id = existing?.Id ?? Guid.CreateVersion7();
        var values = new
        {
            id, source = origin.Source, configurationId = origin.Source == CallOrigin.CadSource ? origin.Id : (Guid?)null,
            subscriptionId = origin.Source == CallOrigin.EidoSource ? origin.Id : (Guid?)null,
            importId = origin.Source == CallOrigin.CadSource ? origin.EntryId : (Guid?)null, r.ExternalId, r.CallNumber, r.CallerName, r.CallerPhone,
            r.Description, r.Address, r.CrossStreets, raw = scope.Cipher.EncryptText(r.RawXml, EncryptedColumns.CfsRawXml.Context), r.Priority, r.Type,
            r.Nature, r.Status, r.ReceivedAt, r.ReceivedAtText, r.Latitude, r.Longitude, units = r.Units.ToArray(),
            narrative = CfsRecords.SealNarrative(scope.Cipher, r.Narrative), extra = CfsRecords.SealExtra(scope.Cipher, r.Extra),
            warnings = JsonSerializer.Serialize(r.Warnings), sourceUpdatedAt, now,
        };
        if (existing is null)
        {
            await scope.ExecuteAsync(Insert, values);
            if (raise is not null) await RaiseAsync(scope, origin, id, r, raise);
            return new CallUpsert(id, false, false);
        }

        await scope.ExecuteAsync(Update, values);
        if (existing.LinkedIncidentId is { } incidentId)
            await CfsChanges.RecordAsync(scope, incidentId, existing.ToRecord(scope.Cipher), r, existing.Id, origin);
        return new CallUpsert(id, true, false);
    }

    /// <summary>
    /// A new call to be raised at once: left in the new incident's inbox, in the caller's transaction; the incident's grain
    /// creates it (its companies that are still assignable notified, the call linked) right after the commit.
    /// </summary>
    private static Task RaiseAsync(AgencyScope scope, CallOrigin origin, Guid callId, CfsRecord r, CallRaise raise)
    {
        // An EIDO's identifier is a long URN: the PSAP's own incident number names it better where there is one.
        var name = $"{origin.Label} {(origin.Source == CallOrigin.EidoSource ? r.CallNumber ?? r.ExternalId : r.ExternalId)}";
        return IncidentInbox.RaiseAsync(scope, Guid.CreateVersion7(), callId,
            new RaisePlan(raise.Priority, (r.Nature ?? r.Type) is { } what ? $"{what} ({name})" : name, raise.Companies), r.Description ?? "", r.Address, r.Type);
    }

    private sealed record ExistingRow(Guid Id, string? CallNumber, string? CallerName, string? CallerPhone, string? Description, string? Address,
        string? CrossStreets, string? Priority, string? IncidentType, string? Nature, string? Status, double? Latitude, double? Longitude,
        string Units, string? Narrative, Guid? LinkedIncidentId, DateTime? SourceUpdatedAt)
    {
        /// <summary>The call as it stood before this reading, in the parser's terms, for comparison.</summary>
        public CfsRecord ToRecord(FieldCipher cipher) => new()
        {
            ExternalId = "", RawXml = "", CallNumber = CallNumber, CallerName = CallerName, CallerPhone = CallerPhone, Description = Description,
            Address = Address, CrossStreets = CrossStreets, Priority = Priority, Type = IncidentType, Nature = Nature, Status = Status,
            Latitude = Latitude, Longitude = Longitude, Units = JsonSerializer.Deserialize<string[]>(Units) ?? [], Narrative = CfsRecords.OpenNarrative(cipher, Narrative),
        };
    }
}
