using System.Text.RegularExpressions;
using Dapper;
using Dispatch.Grains.Storage;
using Dispatch.Grains.Storage.Encryption;
using Dispatch.Tests.Infrastructure;

namespace Dispatch.Tests.Storage;

/// <summary>The migrated schema against the data model in shared/spec, read from the spec file itself.</summary>
public sealed partial class SchemaTests : TestDatabase
{
    [Fact]
    public async Task Every_table_and_column_of_the_spec_exists()
    {
        var spec = SpecTables();
        Assert.True(spec.Count >= 20, $"read only {spec.Count} tables from the spec");
        await using var database = await MigratedAsync();
        await using var connection = await database.Owner.OpenConnectionAsync();
        var columns = (await connection.QueryAsync<(string Table, string Column)>(
            "select table_name, column_name from information_schema.columns where table_schema = 'public'")).ToHashSet();

        var missing = spec.SelectMany(t => t.Value.Select(c => (t.Key, c))).Where(tc => !columns.Contains(tc)).ToList();

        Assert.True(missing.Count == 0, "missing: " + string.Join(", ", missing.Select(m => $"{m.Key}.{m.c}")));
        Assert.Contains(("incident_communications", "sender_user_id"), columns);
        Assert.Contains(("incident_communications", "receiver_user_id"), columns);
        Assert.DoesNotContain(("incident_communications", "updated_at"), columns);
    }

    [Fact]
    public async Task Keys_are_uuids_times_are_timestamptz_and_encrypted_columns_are_not_text()
    {
        await using var database = await MigratedAsync();
        await using var connection = await database.Owner.OpenConnectionAsync();
        var types = (await connection.QueryAsync<(string Table, string Column, string Type)>(
                "select table_name, column_name, data_type from information_schema.columns where table_schema = 'public'"))
            .ToDictionary(c => (c.Table, c.Column), c => c.Type);

        foreach (var table in SpecTables().Keys.Where(t => t != "incident_agencies"))
            Assert.Equal("uuid", types[(table, "id")]);
        Assert.All(types.Where(t => t.Key.Column.EndsWith("_at")), t => Assert.Equal("timestamp with time zone", t.Value));
        foreach (var column in EncryptedColumns.All)
            Assert.Equal(column.Kind == EncryptedKind.Text ? "bytea" : "jsonb", types[(column.Table, column.Column)]);
    }

    [Fact]
    public async Task Every_table_has_row_level_security_and_none_is_owned_by_a_runtime_role()
    {
        await using var database = await MigratedAsync();
        await using var connection = await database.Owner.OpenConnectionAsync();
        var tables = (await connection.QueryAsync<(string Name, bool Rls, string Owner)>("""
            select c.relname, c.relrowsecurity, pg_get_userbyid(c.relowner)
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'public' and c.relkind = 'r' and c.relname <> 'schema_migrations'
            """)).ToList();

        Assert.NotEmpty(tables);
        Assert.All(tables, t => Assert.True(t.Rls, $"{t.Name} has no row-level security"));
        Assert.All(tables, t => Assert.DoesNotContain(t.Owner, new[] { DispatchDatabase.AppRole, DispatchDatabase.EngineRole }));
    }

    /// <summary>Parses "Table / Key columns" rows such as <c>agenciesid, name, slug, agency_type (psap/company), …</c>.</summary>
    private static Dictionary<string, List<string>> SpecTables()
    {
        var tables = new Dictionary<string, List<string>>();
        foreach (var line in File.ReadLines(SpecFile()))
        {
            var first = line.Split(',')[0].Trim();
            var match = TableAndFirstColumn().Match(first);
            if (!match.Success || !line.Contains(',')) continue;
            var table = match.Groups["table"].Value;
            var rest = Parenthetical().Replace(line[first.Length..], "");
            var columns = new List<string> { match.Groups["column"].Value };
            foreach (var item in rest.Split(','))
            {
                var word = item.Split('—')[0].Trim().Split(' ')[0].TrimEnd('*');
                if (ColumnName().IsMatch(word)) columns.Add(word);
            }
            tables[table] = columns;
        }
        return tables;
    }

    private static string SpecFile()
    {
        var dir = Environment.GetEnvironmentVariable("DISPATCH_SPEC_DIR");
        // shared/ stands beside the repository's folder (or, in some layouts, above it).
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); dir is null && d is not null; d = d.Parent)
            if (Directory.Exists(Path.Combine(d.FullName, "shared", "spec")))
                dir = Path.Combine(d.FullName, "shared", "spec");
        var file = dir is null || !Directory.Exists(dir) ? null : Directory.GetFiles(dir, "*.txt").FirstOrDefault();
        return file ?? throw new FileNotFoundException("The data model spec lives in ../shared/spec beside the repository (or set DISPATCH_SPEC_DIR).");
    }

    // The spec glues the table name to its first column: "agenciesid", "incident_agenciesincident_id".
    [GeneratedRegex(@"^(?<table>[a-z_]+?s)(?<column>incident_id|id)$")]
    private static partial Regex TableAndFirstColumn();

    [GeneratedRegex(@"\([^)]*\)")]
    private static partial Regex Parenthetical();

    [GeneratedRegex(@"^[a-z][a-z0-9_]*$")]
    private static partial Regex ColumnName();
}
