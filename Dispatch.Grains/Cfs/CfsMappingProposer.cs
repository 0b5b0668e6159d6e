using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.XPath;

namespace Dispatch.Grains.Cfs;

/// <summary>A path a target field could be read from, why it was chosen, and a few of its values from the sample.</summary>
public sealed record CfsFieldCandidate(string XPath, int Score, IReadOnlyList<string> Reasons, IReadOnlyList<string> Samples);

/// <summary>
/// A mapping proposed from a sample file, for an administrator to confirm or edit: the repeating record element, the best
/// candidate for each target field (in <see cref="Mappings"/>), every candidate found per field, the values no field took, and notes.
/// </summary>
public sealed record CfsMappingProposal(string? RecordXPath, int RecordCount, CfsMappings Mappings,
    IReadOnlyDictionary<string, IReadOnlyList<CfsFieldCandidate>> Candidates, IReadOnlyList<string> Unmapped, IReadOnlyList<string> Notes);

/// <summary>
/// Proposes a mapping from a sample by structure, names and value shapes only — never by recognising a particular CAD. The
/// record is chosen by whether each holds one call identifier and one time (see ChooseRecord); each leaf value inside a record (element text or attribute)
/// is scored for each target by the words in its path (English and German field vocabulary) and by what its values look like:
/// timestamps (and which exact format reads every one of them), phone numbers, coordinates, WKT points, values unique per record.
/// </summary>
public static partial class CfsMappingProposer
{
    private const int SampledRecords = 100;

    /// <summary>Words that name each target, matched against the words of a path's steps (camelCase, snake_case and compounds split).</summary>
    private static readonly Dictionary<string, string[]> Words = new()
    {
        ["externalId"] = ["id", "guid", "uuid", "key", "cfs", "event", "incident", "einsatz", "einsatzid", "einsatznummer", "vorgang", "vorgangsnummer"],
        ["callNumber"] = ["number", "nr", "no", "num", "callnumber", "casenumber", "case", "ticket", "einsatznummer", "vorgangsnummer"],
        ["callerName"] = ["caller", "reporter", "complainant", "rp", "anrufer", "melder", "meldender", "mitteiler", "name", "fullname"],
        ["callerPhone"] = ["phone", "tel", "telephone", "telefon", "callback", "ani", "rufnummer", "mobile"],
        ["description"] = ["description", "details", "summary", "comment", "comments", "remarks", "notes", "beschreibung", "sachverhalt", "meldung", "info"],
        ["address"] = ["address", "addr", "street", "location", "place", "city", "house", "housenumber", "zip", "postcode",
            "strasse", "straße", "adresse", "einsatzort", "ort", "hausnummer", "hnr", "plz"],
        ["crossStreets"] = ["cross", "crossstreet", "crossstreets", "xstreet", "intersection", "querstrasse", "kreuzung"],
        ["priority"] = ["priority", "prio", "priorität", "prioritaet", "urgency", "severity", "dringlichkeit"],
        ["type"] = ["type", "code", "category", "kind", "calltype", "incidenttype", "einsatzart", "art", "stichwort", "einsatzstichwort"],
        ["nature"] = ["nature", "problem", "complaint", "situation", "meldebild", "schlagwort"],
        ["status"] = ["status", "state", "zustand", "einsatzstatus"],
        ["receivedAt"] = ["received", "created", "reported", "opened", "start", "time", "date", "datetime", "timestamp", "eingang", "alarm", "zeit", "datum", "alarmzeit", "eingangszeit", "meldezeit", "einsatzbeginn"],
        ["latitude"] = ["lat", "latitude", "breite", "breitengrad", "y"],
        ["longitude"] = ["lon", "lng", "long", "longitude", "laenge", "länge", "laengengrad", "x"],
        ["location"] = ["wkt", "point", "geometry", "geom", "position", "coordinates", "koordinaten", "geo"],
        ["units"] = ["unit", "units", "apparatus", "vehicle", "resource", "resources", "fahrzeug", "fahrzeuge", "einheit", "einheiten", "rufname", "funkrufname", "callsign"],
        ["narrative"] = ["narrative", "comment", "comments", "note", "notes", "remark", "remarks", "log", "entry", "bemerkung", "bemerkungen", "journal", "text"],
    };

    /// <summary>Formats a sample's times are tried against, ISO 8601 first (which needs no declaration); the first that reads every value wins.</summary>
    private static readonly string[][] TimeFormats =
    [
        [], // ISO 8601: CfsValues.IsoFormats
        ["yyyyMMddHHmmss"], ["yyyyMMddHHmm"], ["dd.MM.yyyy HH:mm:ss"], ["dd.MM.yyyy HH:mm"], ["MM/dd/yyyy HH:mm:ss"], ["MM/dd/yyyy HH:mm"],
        ["M/d/yyyy h:mm:ss tt"], ["dd/MM/yyyy HH:mm:ss"], ["yyyy/MM/dd HH:mm:ss"], ["dd-MM-yyyy HH:mm:ss"],
    ];

    public static CfsMappingProposal Propose(Stream sample, long maxCharacters)
    {
        var root = GenericXmlParser.DocumentElement(GenericXmlParser.Load(sample, maxCharacters));
        var names = new Prefixes();
        var notes = new List<string>();

        var (recordPath, records, leaves) = ChooseRecord(root, names);
        var sampled = Math.Min(records.Count, SampledRecords);

        var scored = new List<(string Field, Leaf Leaf, CfsFieldCandidate Candidate, FieldMapping Mapping)>();
        foreach (var leaf in leaves.Values)
            foreach (var field in Words.Keys)
                if (Score(field, leaf, sampled) is { } scoredLeaf) scored.Add((field, leaf, scoredLeaf.Candidate, scoredLeaf.Mapping));
        foreach (var narrative in NarrativeCandidates(leaves, sampled)) scored.Add(narrative);

        // Best first; a path feeds one field, and a field takes one path.
        var fields = new Dictionary<string, FieldMapping>();
        var used = new HashSet<string>();
        foreach (var s in scored.OrderByDescending(s => s.Candidate.Score).ThenBy(s => s.Candidate.XPath.Length))
        {
            if (s.Candidate.Score < 5 || fields.ContainsKey(s.Field) || used.Contains(s.Candidate.XPath) || used.Contains(s.Leaf.Path)) continue;
            fields[s.Field] = s.Mapping;
            used.Add(s.Candidate.XPath);
            used.Add(s.Leaf.Path);
            if (s.Mapping.TimeXPath is { } time) used.Add($"{s.Candidate.XPath}/{time}");
        }
        // A place written in parts (street, house number, city; two cross streets): the equally named siblings, joined in document order.
        foreach (var field in new[] { "address", "crossStreets" })
        {
            if (!fields.TryGetValue(field, out var chosen)) continue;
            var best = scored.First(s => s.Field == field && s.Candidate.XPath == chosen.XPath);
            var parts = scored.Where(s => s.Field == field && s.Candidate.Score == best.Candidate.Score && !used.Contains(s.Leaf.Path)
                && Parent(s.Leaf.Path) == Parent(chosen.XPath)).Select(s => s.Leaf.Path).ToList();
            if (parts.Count == 0) continue;
            var order = leaves.Keys.ToList(); // document order of the first record that had each
            fields[field] = chosen with { XPath = string.Join(" | ", new[] { chosen.XPath }.Concat(parts).OrderBy(order.IndexOf)) };
            used.UnionWith(parts);
        }
        if (fields.ContainsKey("location")) { fields.Remove("latitude"); fields.Remove("longitude"); }
        if (!fields.ContainsKey("externalId"))
            notes.Add("No value unique to each record was found for externalId; map the CAD's call identifier by hand.");
        if (fields.TryGetValue("priority", out var priorityField) && leaves.TryGetValue(priorityField.XPath, out var priorityLeaf))
            notes.Add($"priority values seen: {string.Join(", ", priorityLeaf.Values.Distinct().Take(10))}; map each CAD code to one of "
                + "irod, critical, dangerous, routine_special with fields.priority.map (\"*\" for the rest).");
        if (fields.ContainsKey("receivedAt") || fields.ContainsKey("narrative"))
            notes.Add("A time without an offset is read in the configuration's time zone (fieldMappings.timeZone, else the agency's); check it in the dry run.");
        if (records.Count > SampledRecords) notes.Add($"The sample holds {records.Count} records; the first {SampledRecords} were read for the proposal.");

        var candidates = scored.GroupBy(s => s.Field).ToDictionary(g => g.Key,
            g => (IReadOnlyList<CfsFieldCandidate>)g.Select(s => s.Candidate).OrderByDescending(c => c.Score).Take(5).ToList());
        var unmapped = leaves.Keys.Where(p => !used.Contains(p)).Order(StringComparer.Ordinal).ToList();
        var mappings = new CfsMappings(recordPath, names.Count == 0 ? null : names.Declared(), fields);
        return new CfsMappingProposal(recordPath, records.Count, mappings, candidates, unmapped, notes);
    }

    private static string Parent(string path) => path.Contains('/') ? path[..path.LastIndexOf('/')] : "";

    /// <summary>
    /// The record: among the document (or the end of its chain of single wrappers) and every element that repeats under one parent
    /// with structure of its own, the one whose records each hold an identifier-like and a time-like value exactly once (a call has
    /// one number and one time; a unit, a log line or a narrative entry inside it does not); among equals the outermost, then the
    /// most frequent. A document that is one call with lists inside it is one record; a feed of many calls is a record per call.
    /// </summary>
    private static (string? Path, List<XPathNavigator> Records, Dictionary<string, Leaf> Leaves) ChooseRecord(XPathNavigator root, Prefixes names)
    {
        var candidates = new List<(string? Path, int Depth, int Count)> { (SingleRecordPath(root, names), 0, 1) };
        void Visit(XPathNavigator node, string path, int depth)
        {
            foreach (var group in Children(node).GroupBy(c => names.Name(c)))
            {
                var childPath = $"{path}/{group.Key}";
                if (group.Count() >= 2 && group.Any(c => Children(c).Any() || c.HasAttributes))
                    candidates.Add((childPath, depth + 1, group.Count()));
                foreach (var child in group.Take(SampledRecords)) Visit(child, childPath, depth + 1);
            }
        }
        Visit(root, "/" + names.Name(root), 0);

        (string? Path, List<XPathNavigator> Records, Dictionary<string, Leaf> Leaves, (int, int, int, int) Rank)? best = null;
        foreach (var (path, depth, count) in candidates.DistinctBy(c => c.Path))
        {
            var records = new List<XPathNavigator>();
            if (path is null) records.Add(root.Clone());
            else
            {
                var iterator = root.Select(XPathExpression.Compile(path, names.Manager()));
                while (iterator.MoveNext()) records.Add(iterator.Current!.Clone());
            }
            var leaves = Leaves(records, names);
            var sampled = Math.Min(records.Count, SampledRecords);
            bool OncePerRecord(Leaf leaf) => leaf.MaxPerRecord == 1 && leaf.Records == sampled;
            var once = leaves.Values.Where(OncePerRecord).ToList();
            var identified = once.Any(l => Score("externalId", l, sampled) is { Candidate.Score: >= 10 } || Score("callNumber", l, sampled) is { Candidate.Score: >= 10 });
            var score = (identified ? 1 : 0) + (once.Any(l => l.Times is not null) ? 1 : 0);
            // Then how many targets are named by a value each record holds once: a call's number, time, address, caller, priority …
            // outnumber what a unit or an export's header carries.
            var coverage = Words.Count(w => once.Any(l => Tokens(Bare(l.Path.Split('/')[^1])).Overlaps(w.Value)));
            var rank = (score, coverage, -depth, count);
            if (best is null || rank.CompareTo(best.Value.Rank) > 0) best = (path, records, leaves, rank);
        }
        return (best!.Value.Path, best.Value.Records, best.Value.Leaves);
    }

    private static Dictionary<string, Leaf> Leaves(List<XPathNavigator> records, Prefixes names)
    {
        var leaves = new Dictionary<string, Leaf>();
        for (var i = 0; i < Math.Min(records.Count, SampledRecords); i++)
        {
            var seen = new Dictionary<string, int>();
            var seenValues = new Dictionary<string, HashSet<string>>();
            Collect(records[i], "", names, leaves, seen, seenValues);
            foreach (var (path, count) in seen)
            {
                leaves[path].Records++;
                leaves[path].MaxPerRecord = Math.Max(leaves[path].MaxPerRecord, count);
            }
        }
        return leaves;
    }

    /// <summary>The document as one record: the end of its chain of single wrappers (each one element child, no attributes or text), or null for the document element.</summary>
    private static string? SingleRecordPath(XPathNavigator root, Prefixes names)
    {
        var rootPath = "/" + names.Name(root);
        var node = root.Clone();
        var chain = rootPath;
        while (!node.HasAttributes && Children(node).ToList() is [var only] && string.IsNullOrWhiteSpace(OwnText(node)))
        {
            chain += "/" + names.Name(only);
            node = only;
        }
        return chain == rootPath ? null : chain;
    }

    private static IEnumerable<XPathNavigator> Children(XPathNavigator node)
    {
        var child = node.Clone();
        if (!child.MoveToFirstChild()) yield break;
        do
        {
            if (child.NodeType == XPathNodeType.Element) yield return child.Clone();
        }
        while (child.MoveToNext());
    }

    private static string OwnText(XPathNavigator node)
    {
        var text = "";
        var child = node.Clone();
        if (!child.MoveToFirstChild()) return text;
        do
        {
            if (child.NodeType is XPathNodeType.Text or XPathNodeType.SignificantWhitespace) text += child.Value;
        }
        while (child.MoveToNext());
        return text;
    }

    /// <summary>Every leaf under a record: attributes, and elements holding text but no elements, by their path relative to the record.</summary>
    private static void Collect(XPathNavigator node, string path, Prefixes names, Dictionary<string, Leaf> leaves, Dictionary<string, int> seen,
        Dictionary<string, HashSet<string>> seenValues)
    {
        var attribute = node.Clone();
        if (attribute.MoveToFirstAttribute())
            do Add(path.Length == 0 ? $"@{attribute.LocalName}" : $"{path}/@{attribute.LocalName}", attribute.Value);
            while (attribute.MoveToNextAttribute());
        var children = Children(node).ToList();
        if (children.Count == 0 && path.Length > 0) Add(path, node.Value);
        foreach (var child in children) Collect(child, path.Length == 0 ? names.Name(child) : $"{path}/{names.Name(child)}", names, leaves, seen, seenValues);

        void Add(string at, string value)
        {
            value = value.Trim();
            if (value.Length == 0) return;
            if (!leaves.TryGetValue(at, out var leaf)) leaves[at] = leaf = new Leaf(at);
            if (leaf.Values.Count < 500) leaf.Values.Add(value);
            seen[at] = seen.GetValueOrDefault(at) + 1;
            if (!(seenValues.TryGetValue(at, out var inRecord) ? inRecord : seenValues[at] = []).Add(value)) leaf.RepeatsAValue = true;
        }
    }

    private static (CfsFieldCandidate Candidate, FieldMapping Mapping)? Score(string field, Leaf leaf, int records)
    {
        var reasons = new List<string>();
        var score = 0;
        var steps = leaf.Path.Split('/').Select(Bare).ToList();
        var last = Tokens(steps[^1]);
        var parents = steps.SkipLast(1).SelectMany(Tokens).ToHashSet();
        if (last.Overlaps(Words[field])) { score += 10; reasons.Add($"its name ({steps[^1]})"); }
        else if (parents.Overlaps(Words[field])) { score += 4; reasons.Add($"an enclosing element's name ({string.Join("/", steps.SkipLast(1))})"); }

        var values = leaf.Values;
        FieldMapping mapping = new(leaf.Path);
        var repeats = leaf.MaxPerRecord > 1;
        switch (field)
        {
            case "receivedAt":
                if (leaf.Times is not { } formats) return null;
                if (repeats) // a time that repeats within a call is an entry's (a unit's, a log line's), not the call's: offered, never chosen
                {
                    score -= 9;
                    reasons.Add("it repeats within a record (an entry's time rather than the call's)");
                }
                score += 3;
                reasons.Add(formats.Length == 0 ? "its values are ISO 8601 times" : $"its values are times in the format {formats[0]}");
                mapping = mapping with { Formats = formats.Length == 0 ? null : formats };
                break;
            case "latitude" or "longitude":
                var limit = field == "latitude" ? 90 : 180;
                if (!values.All(v => Coordinate().IsMatch(v) && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && Math.Abs(d) <= limit))
                    return null;
                score += 2;
                reasons.Add("its values are decimal coordinates");
                break;
            case "location":
                if (!values.All(v => CfsValues.ReadPoint(field, v, []) is not null)) return null;
                score += 10;
                reasons.Add("its values are WKT points");
                break;
            case "callerPhone":
                if (values.All(v => Phone().IsMatch(v) && v.Count(char.IsAsciiDigit) is >= 6 and <= 15 && TimeFormat([v]) is null && !Coordinate().IsMatch(v))) { score += 6; reasons.Add("its values look like phone numbers"); }
                else if (score == 0) return null;
                else score -= 4;
                break;
            case "externalId":
                if (repeats || (records > 1 && values.Distinct().Count() < leaf.Records)) return null;
                if (records > 1) { score += 3; reasons.Add("its value differs in every record"); }
                break;
            case "address":
                if (score > 0 && values.All(v => v.Any(char.IsAsciiDigit) && v.Any(char.IsLetter))) { score += 2; reasons.Add("its values hold a number and a name"); }
                if (leaf.Times is not null) return null;
                break;
            case "units":
                if (leaf.Times is not null) return null;
                if (repeats) { score += 2; reasons.Add("it repeats within a record"); }
                if (repeats && !leaf.RepeatsAValue) { score += 1; reasons.Add("no value repeats within a record"); }
                break;
            case "narrative":
                return null; // entries are found from their structure (NarrativeCandidates); a lone text leaf is a description
            default:
                if (CfsMappings.Targets[field] is CfsFieldKind.Single && repeats)
                {
                    // One value per call: a leaf repeating inside it belongs to a list in the call (a unit's status), rarely the call.
                    mapping = mapping with { Combine = CfsCombine.First };
                    score -= 6;
                    reasons.Add("it repeats within a record (taken: the first)");
                }
                if (field != "callNumber" && leaf.Times is not null) return null; // a time is not a name, an address or a code
                break;
        }
        if (score <= 0) return null;
        return (new CfsFieldCandidate(leaf.Path, score, reasons, values.Distinct().Take(3).ToList()), mapping);
    }

    /// <summary>
    /// Repeating entries with a text and (optionally) a time: an element whose children are the text and the time (textXPath and
    /// timeXPath relative to it), or a repeating text element carrying its time in an attribute.
    /// </summary>
    private static IEnumerable<(string, Leaf, CfsFieldCandidate, FieldMapping)> NarrativeCandidates(Dictionary<string, Leaf> leaves, int records)
    {
        foreach (var text in leaves.Values.Where(l => !l.Path.Contains('@') && l.MaxPerRecord > 1 && l.Times is null))
        {
            var time = leaves.Values.FirstOrDefault(l => Parent(l.Path) == text.Path && l.Path.Contains('@') && l.Times is not null);
            if (time is null) continue;
            var formats = time.Times;
            var named = Tokens(Step(text.Path)).Overlaps(Words["narrative"]) || Tokens(Step(Parent(text.Path))).Overlaps(Words["narrative"]);
            var sentences = text.Values.Average(v => v.Length) >= 20 ? 2 : 0;
            yield return ("narrative", text, new CfsFieldCandidate(text.Path, (named ? 10 : 0) + 5 + sentences,
                    [.. named ? new[] { $"its name ({text.Path})" } : [], "its entries repeat within a record", $"each entry has a time ({time.Path})"],
                    text.Values.Distinct().Take(3).ToList()),
                new FieldMapping(text.Path, TimeXPath: time.Path[(text.Path.Length + 1)..], Formats: formats is { Length: > 0 } ? formats : null));
        }
        foreach (var group in leaves.Values.Where(l => !l.Path.Contains('@')).GroupBy(l => l.Path.Contains('/') ? l.Path[..l.Path.LastIndexOf('/')] : ""))
        {
            var entryPath = group.Key;
            var entryWords = entryPath.Split('/').SelectMany(s => Tokens(Bare(s))).ToHashSet();
            var texts = group.Where(l => l.Times is null).OrderByDescending(l => l.Values.Average(v => v.Length)).ToList();
            var time = group.FirstOrDefault(l => l.Times is not null);
            if (texts.Count == 0 || entryPath.Length == 0) continue;
            var text = texts[0];
            var named = entryWords.Overlaps(Words["narrative"]) || Tokens(Step(text.Path)).Overlaps(Words["narrative"]);
            if (!named && text.MaxPerRecord < 2) continue;
            var prose = text.Values.Average(v => v.Length) >= 20;
            var score = (named ? 10 : 0) + (text.MaxPerRecord > 1 ? 3 : 0) + (time is null ? 0 : 2) + (prose ? 2 : 0);
            var reasons = new List<string>();
            if (named) reasons.Add($"its name ({entryPath})");
            if (prose) reasons.Add("its entries read as sentences");
            if (text.MaxPerRecord > 1) reasons.Add("its entries repeat within a record");
            if (time is not null) reasons.Add($"each entry has a time ({time.Path})");
            var timeFormats = time?.Times;
            yield return ("narrative", text, new CfsFieldCandidate(entryPath, score, reasons, text.Values.Distinct().Take(3).ToList()),
                new FieldMapping(entryPath, TextXPath: text.Path[(entryPath.Length + 1)..], TimeXPath: time?.Path[(entryPath.Length + 1)..],
                    Formats: timeFormats is { Length: > 0 } ? timeFormats : null));
        }
    }

    /// <summary>The first format (empty: ISO 8601) that reads every value; null when none does.</summary>
    private static string[]? TimeFormat(IReadOnlyCollection<string> values)
    {
        if (values.Count == 0) return null;
        foreach (var formats in TimeFormats)
        {
            var patterns = formats.Length == 0 ? CfsValues.IsoFormats.ToArray() : formats;
            if (values.All(v => v.Any(c => !char.IsAsciiDigit(c)) || v.Length >= 12) // a bare short number is not a time
                && values.All(v => DateTime.TryParseExact(v, patterns, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces | DateTimeStyles.RoundtripKind, out _)))
                return formats;
        }
        return null;
    }

    /// <summary>A path's last step without its prefix.</summary>
    private static string Step(string path) => Bare(path[(path.LastIndexOf('/') + 1)..]);

    /// <summary>A step's name without its attribute sign and namespace prefix.</summary>
    private static string Bare(string step)
    {
        step = step.TrimStart('@');
        return step.Contains(':') ? step[(step.IndexOf(':') + 1)..] : step;
    }

    /// <summary>A step's words: camelCase, snake_case, kebab-case and digits split, lower-cased, with the whole step too.</summary>
    private static HashSet<string> Tokens(string step)
    {
        var words = WordSplit().Split(step).Where(w => w.Length > 0).Select(w => w.ToLowerInvariant()).ToHashSet();
        words.Add(step.ToLowerInvariant().Replace("_", "").Replace("-", ""));
        return words;
    }

    [GeneratedRegex(@"(?<=[a-zäöü])(?=[A-ZÄÖÜ])|(?<=[A-Z])(?=[A-Z][a-z])|[_\-.\s\d]+")]
    private static partial Regex WordSplit();

    [GeneratedRegex(@"^\+?[\d\s().\-/]+$")]
    private static partial Regex Phone();

    [GeneratedRegex(@"^[-+]?\d{1,3}[.]\d{3,}$")]
    private static partial Regex Coordinate();

    private sealed class Leaf(string path)
    {
        public string Path { get; } = path;
        public List<string> Values { get; } = [];
        public int Records { get; set; }
        public int MaxPerRecord { get; set; }

        /// <summary>Some record holds the same value twice here (a log naming a unit at each step; a list of units would not).</summary>
        public bool RepeatsAValue { get; set; }

        /// <summary>The format that reads every value as a time (empty: ISO 8601), or null; tried once, after the values are collected.</summary>
        public string[]? Times
        {
            get
            {
                if (!_timesRead) _times = TimeFormat(Values);
                _timesRead = true;
                return _times;
            }
        }

        private bool _timesRead;
        private string[]? _times;
    }

    /// <summary>Prefixes for the sample's namespaces: the document's own where it has one, else d, d2, …</summary>
    private sealed class Prefixes
    {
        private readonly Dictionary<string, string> _byUri = [];

        public int Count => _byUri.Count;

        public string Name(XPathNavigator element)
        {
            if (element.NamespaceURI.Length == 0) return element.LocalName;
            if (!_byUri.TryGetValue(element.NamespaceURI, out var prefix))
            {
                prefix = element.Prefix.Length > 0 && !_byUri.ContainsValue(element.Prefix) ? element.Prefix : "d";
                for (var i = 2; _byUri.ContainsValue(prefix); i++) prefix = $"d{i}";
                _byUri[element.NamespaceURI] = prefix;
            }
            return $"{prefix}:{element.LocalName}";
        }

        public IReadOnlyDictionary<string, string> Declared() => _byUri.ToDictionary(p => p.Value, p => p.Key);

        public System.Xml.XmlNamespaceManager Manager()
        {
            var manager = new System.Xml.XmlNamespaceManager(new System.Xml.NameTable());
            foreach (var (uri, prefix) in _byUri) manager.AddNamespace(prefix, uri);
            return manager;
        }
    }
}
