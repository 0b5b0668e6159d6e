using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Dispatch.Grains.Cfs;

namespace Dispatch.Grains.Eido;

/// <summary>An EIDO that cannot become a call at all (no incident identifier, not a JSON object), with the reason its sender is told.</summary>
public sealed class EidoUnusableException(string reason) : Exception(reason);

/// <summary>
/// An EIDO read as a call: the record a CAD export would give (without a Dispatch priority — the subscription's mapping decides
/// that), the incident type's internal code and common priority number the mapping matches on, and when the EIDO says it was
/// last updated.
/// </summary>
public sealed record EidoCall(CfsRecord Record, string? TypeCode, int? PriorityNumber, DateTimeOffset? LastUpdated);

/// <summary>
/// Reads an Emergency Incident Data Object (NENA-STA-021, JSON) into a call. Published EIDOs are messy, so the reader is forgiving:
/// property names are matched without regard to case (<c>LastUpdateTimeStamp</c> and <c>lastUpdateTimeStamp</c> both occur),
/// a component may be given by value, as an array or as a <c>{"$ref": id}</c> to a component elsewhere in the document, and
/// <c>incidentComponent</c> is an object in the schema but an array in the samples. Whatever cannot be read becomes a warning on
/// the call; only an EIDO without an incident identifier is refused.
/// </summary>
public static partial class EidoReader
{
    public static EidoCall Read(JsonNode? eido)
    {
        if (eido is not JsonObject root) throw new EidoUnusableException("The EIDO is not a JSON object.");
        var document = new Document(root);
        return document.Read();
    }

    private sealed class Document
    {
        private readonly JsonObject _root;
        private readonly Dictionary<string, JsonObject> _byId = new(StringComparer.Ordinal);
        private readonly List<string> _warnings = [];

        public Document(JsonObject root)
        {
            _root = root;
            Index(root);
        }

        private void Index(JsonNode? node)
        {
            switch (node)
            {
                case JsonObject o:
                    if (Prop(o, "$id") is JsonValue id && id.TryGetValue<string>(out var key)) _byId.TryAdd(key, o);
                    foreach (var (_, child) in o) Index(child);
                    break;
                case JsonArray a:
                    foreach (var child in a) Index(child);
                    break;
            }
        }

        public EidoCall Read()
        {
            // Early schema versions name the incident in incidentTrackingIdentifier; later ones make the EIDO's own $id that URN
            // (urn:emergency:uid:incidentid:…).
            var externalId = Text(_root, "incidentTrackingIdentifier", "incidentTrackingIdentifier") ?? Text(_root, "$id", "$id")
                ?? throw new EidoUnusableException("The EIDO names no incident: it has neither incidentTrackingIdentifier nor $id.");
            if (externalId.Length > 512) throw new EidoUnusableException("The EIDO's incident identifier is over 512 characters.");

            var incident = Components(_root, "incidentComponent", "incidentComponent").FirstOrDefault();
            if (incident is null) _warnings.Add("incidentComponent: the EIDO has none, so its type and priority are unknown.");
            var type = incident is null ? null : Text(incident, "incidentTypeCommonRegistryText", "incidentComponent.incidentTypeCommonRegistryText");
            var typeCode = incident is null ? null : Text(incident, "incidentTypeInternalCode", "incidentComponent.incidentTypeInternalCode");
            var typeText = incident is null ? null : Text(incident, "incidentTypeInternalText", "incidentComponent.incidentTypeInternalText");
            var priorityNumber = incident is null ? null : Integer(incident, "incidentCommonPriorityNumber", "incidentComponent.incidentCommonPriorityNumber");
            var status = incident is null ? null
                : Text(incident, "incidentStatusCommonRegistryText", "incidentComponent.incidentStatusCommonRegistryText")
                  ?? Text(incident, "incidentStatusInternalText", "incidentComponent.incidentStatusInternalText");

            var notes = Notes();
            var location = Location(incident);
            var calls = Components(_root, "callComponent", "callComponent").ToList();
            var (received, receivedText) = Received(calls);
            var extra = new Dictionary<string, object>();
            void Extra(string key, string? value)
            {
                if (value is not null) extra[key] = value;
            }
            Extra("eidoVersion", Text(_root, "EIDOVersion", "EIDOVersion"));
            Extra("reasonForIssue", Text(_root, "reasonForIssueRegistryText", "reasonForIssueRegistryText"));
            Extra("owningAgency", Text(_root, "owningAgencyIdentifier", "owningAgencyIdentifier"));
            Extra("incidentTypeInternalCode", typeCode);
            Extra("incidentPriorityInternalText", incident is null ? null : Text(incident, "incidentPriorityInternalText", "incidentComponent.incidentPriorityInternalText"));
            Extra("incidentCommonPriorityNumber", priorityNumber?.ToString(CultureInfo.InvariantCulture));
            Extra("locationByReference", location.Reference);
            Extra("locationDescription", location.Description);

            var record = new CfsRecord
            {
                ExternalId = externalId,
                CallNumber = incident is null ? null : Text(incident, "internalIncidentId", "incidentComponent.internalIncidentId"),
                CallerName = CallerName(),
                CallerPhone = CallerPhone(calls),
                Type = type ?? typeCode,
                Nature = typeText,
                Description = notes.FirstOrDefault()?.Text,
                Status = status,
                Address = location.Address,
                CrossStreets = location.CrossStreets,
                Latitude = location.Latitude,
                Longitude = location.Longitude,
                ReceivedAt = received,
                ReceivedAtText = receivedText,
                Units = Units(),
                Narrative = notes,
                Extra = extra,
                RawXml = _root.ToJsonString(),
                Warnings = _warnings,
            };
            return new EidoCall(record, typeCode, priorityNumber, Time(_root, "lastUpdateTimeStamp", "lastUpdateTimeStamp"));
        }

        /// <summary>Every note, oldest first: the EIDO's notesComponent, by value or referenced from the incident.</summary>
        private List<CfsNarrativeEntry> Notes() => Components(_root, "notesComponent", "notesComponent")
            .Select((n, i) => (Text: Html(Text(n, "notesActionComments", $"notesComponent[{i}].notesActionComments")),
                At: Time(n, "lastUpdateTimeStamp", $"notesComponent[{i}].lastUpdateTimeStamp"),
                AtText: Text(n, "lastUpdateTimeStamp", $"notesComponent[{i}].lastUpdateTimeStamp")))
            .Where(n => !string.IsNullOrWhiteSpace(n.Text))
            .OrderBy(n => n.At ?? DateTimeOffset.MaxValue)
            .Select(n => new CfsNarrativeEntry(n.Text!, n.At, n.AtText)).ToList();

        private (string? Address, string? CrossStreets, double? Latitude, double? Longitude, string? Reference, string? Description) Location(JsonObject? incident)
        {
            // The incident's own location, if it names one; else the first the EIDO carries.
            var referenced = incident is null ? [] : Components(incident, "locationReference", "incidentComponent.locationReference").ToList();
            var location = referenced.FirstOrDefault() ?? Components(_root, "locationInformationComponent", "locationInformationComponent").FirstOrDefault();
            if (location is null)
            {
                _warnings.Add("locationInformationComponent: the EIDO has no location.");
                return (null, null, null, null, null, null);
            }
            var value = Text(location, "locationByValue", "location.locationByValue");
            var reference = Text(location, "locationByReferenceUrl", "location.locationByReferenceUrl");
            var read = PidfLo.Read(value, "location.locationByValue");
            _warnings.AddRange(read.Warnings);
            var crossStreets = Strings(location, "crossStreetByValue", "location.crossStreetByValue")
                .Select((x, i) => PidfLo.Read(x, $"location.crossStreetByValue[{i}]"))
                .Select(x =>
                {
                    _warnings.AddRange(x.Warnings.Where(w => !w.Contains("neither a civic address", StringComparison.Ordinal)));
                    return x.Address;
                })
                .Where(a => a is not null).ToList();
            if (value is null && reference is null) _warnings.Add("location: neither locationByValue nor locationByReferenceUrl; the address is unknown.");
            return (read.Address, crossStreets.Count == 0 ? null : string.Join(" / ", crossStreets), read.Latitude, read.Longitude, reference,
                Text(location, "locationDescriptionText", "location.locationDescriptionText"));
        }

        private static (DateTimeOffset?, string?) Received(List<JsonObject> calls)
        {
            foreach (var call in calls)
                if (Prop(call, "answerDate") is JsonValue v && v.TryGetValue<string>(out var text)
                    && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at))
                    return (at.ToUniversalTime(), text);
            return (null, null);
        }

        /// <summary>The caller's callback number: the caller's own URI, else the device's, else a number the call taker added.</summary>
        private string? CallerPhone(List<JsonObject> calls)
        {
            foreach (var call in calls)
            {
                var uri = Text(call, "callerCallBackInformationUrl", "callComponent.callerCallBackInformationUrl")
                    ?? Strings(call, "deviceCallBackInformationUrl", "callComponent.deviceCallBackInformationUrl").FirstOrDefault()
                    ?? Components(call, "updatedCBN", "callComponent.updatedCBN")
                        .Select(u => Text(u, "updatedCBNIdentifierUri", "callComponent.updatedCBN.updatedCBNIdentifierUri")).FirstOrDefault(u => u is not null);
                if (uri is not null) return Phone(uri);
            }
            return null;
        }

        /// <summary>tel:+15551234567 → +15551234567; sip:+15551234567@host;user=phone → +15551234567.</summary>
        private static string Phone(string uri)
        {
            var value = uri.Trim();
            foreach (var scheme in new[] { "tel:", "sip:", "sips:" })
                if (value.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) value = value[scheme.Length..];
            var end = value.IndexOfAny(['@', ';']);
            return end > 0 ? value[..end] : value;
        }

        private string? CallerName()
        {
            foreach (var person in Components(_root, "personInformationComponent", "personInformationComponent"))
            {
                var roles = Strings(person, "personIncidentRoleRegistryText", "personInformationComponent.personIncidentRoleRegistryText");
                if (!roles.Any(r => r.Contains("caller", StringComparison.OrdinalIgnoreCase) || r.Contains("reporting", StringComparison.OrdinalIgnoreCase)))
                    continue;
                if (Prop(person, "ncPersonComponent") is not JsonObject nc || Prop(nc, "PersonName") is not JsonObject name) continue;
                return Text(name, "PersonFullName", "ncPersonComponent.PersonName.PersonFullName")
                    ?? (string.Join(' ', new[] { "PersonGivenName", "PersonMiddleName", "PersonSurName" }
                        .Select(p => Text(name, p, $"ncPersonComponent.PersonName.{p}")).Where(p => p is not null)) is { Length: > 0 } joined ? joined : null);
            }
            return null;
        }

        private IReadOnlyList<string> Units() => Components(_root, "emergencyResourceComponent", "emergencyResourceComponent")
            .Select(r => Text(r, "enforcementUnitName", "emergencyResourceComponent.enforcementUnitName")
                ?? Text(r, "enforcementUnitIdentification", "emergencyResourceComponent.enforcementUnitIdentification"))
            .Where(u => u is not null).Select(u => u!).Distinct().ToList();

        /// <summary>
        /// The components a property holds: an object, an array of them, and any of them a <c>{"$ref": id}</c> resolved against the
        /// document's <c>$id</c>s. A reference to nothing, or a value that is not an object, is a warning.
        /// </summary>
        private IEnumerable<JsonObject> Components(JsonObject owner, string name, string path)
        {
            var value = Prop(owner, name);
            IEnumerable<JsonNode?> items = value switch
            {
                null => [],
                JsonArray array => array,
                _ => new[] { value },
            };
            foreach (var item in items)
            {
                if (item is not JsonObject component)
                {
                    if (item is not null) _warnings.Add($"{path}: expected an object, found {item.GetValueKind().ToString().ToLowerInvariant()}.");
                    continue;
                }
                if (Prop(component, "$ref") is JsonValue r && r.TryGetValue<string>(out var target))
                {
                    if (_byId.TryGetValue(target, out var resolved)) yield return resolved;
                    else _warnings.Add($"{path}: the reference '{target}' names no component in this EIDO.");
                    continue;
                }
                yield return component;
            }
        }

        /// <summary>A text value; a number is written invariantly, an array of strings joined; anything else is a warning.</summary>
        private string? Text(JsonObject owner, string name, string path)
        {
            switch (Prop(owner, name))
            {
                case null:
                    return null;
                case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                    return v.GetValue<string>().Trim() is { Length: > 0 } s ? s : null;
                case JsonValue v when v.GetValueKind() is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                    return v.ToJsonString();
                case JsonArray a when a.All(x => x is JsonValue xv && xv.GetValueKind() == JsonValueKind.String):
                    return a.Count == 0 ? null : string.Join(", ", a.Select(x => x!.GetValue<string>()));
                case var other:
                    _warnings.Add($"{path}: expected text, found {other.GetValueKind().ToString().ToLowerInvariant()}.");
                    return null;
            }
        }

        private IEnumerable<string> Strings(JsonObject owner, string name, string path) => Prop(owner, name) switch
        {
            null => [],
            JsonValue v when v.GetValueKind() == JsonValueKind.String => [v.GetValue<string>()],
            JsonArray a => a.Select((x, i) => x is JsonValue xv && xv.GetValueKind() == JsonValueKind.String ? xv.GetValue<string>()
                : Warn<string>($"{path}[{i}]: expected text.")).Where(s => s is not null).Select(s => s!).ToList(),
            _ => Warn<IEnumerable<string>>($"{path}: expected text or a list of text.") ?? [],
        };

        private int? Integer(JsonObject owner, string name, string path)
        {
            var value = Prop(owner, name);
            if (value is null) return null;
            if (value is JsonValue v && (v.TryGetValue<int>(out var i)
                    || (v.TryGetValue<string>(out var s) && int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out i))))
                return i;
            _warnings.Add($"{path}: '{value.ToJsonString()}' is not a whole number.");
            return null;
        }

        private DateTimeOffset? Time(JsonObject owner, string name, string path)
        {
            if (Text(owner, name, path) is not { } text) return null;
            if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind | DateTimeStyles.AssumeUniversal, out var at))
                return at.ToUniversalTime();
            _warnings.Add($"{path}: '{text}' is not an ISO 8601 time.");
            return null;
        }

        private T? Warn<T>(string warning)
        {
            _warnings.Add(warning);
            return default;
        }
    }

    /// <summary>A property by name, exactly or else without regard to case.</summary>
    private static JsonNode? Prop(JsonObject owner, string name)
    {
        if (owner.TryGetPropertyValue(name, out var exact)) return exact;
        foreach (var (key, value) in owner)
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase)) return value;
        return null;
    }

    /// <summary>Notes are HTML5: their text, without tags, entities decoded, whitespace collapsed.</summary>
    private static string? Html(string? html) => html is null ? null
        : Whitespace().Replace(WebUtility.HtmlDecode(Tags().Replace(Breaks().Replace(html, "\n"), "")), " ").Trim() is { Length: > 0 } text ? text : null;

    [GeneratedRegex("<br\\s*/?>|</p>", RegexOptions.IgnoreCase)]
    private static partial Regex Breaks();

    [GeneratedRegex("<[^>]*>")]
    private static partial Regex Tags();

    [GeneratedRegex("[ \\t\\r\\f\\v]+")]
    private static partial Regex Whitespace();
}
