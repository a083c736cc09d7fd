using System.CommandLine;
using System.Text.Json;
using NasSharp.Experiments;
using NasSharp.Reports;
using NasSharp.Store;
using Spectre.Console;

namespace NasSharp.Cli.Commands;

/// <summary><c>nas runs list|show|compare|export</c>: what the results store holds.</summary>
public static class RunsCommand
{
    public static Command Create(CliConsole console)
    {
        var runs = new Command("runs", "List and show recorded runs in the results store.");
        var list = new Command("list", "List runs, newest first.");
        var limit = new Option<int>("--limit") { Description = "At most this many runs.", DefaultValueFactory = _ => 50 };
        var kind = new Option<string?>("--kind") { Description = $"Only runs of this kind: {string.Join(", ", Enum.GetValues<ExperimentKind>().Select(ExperimentRun.KindName))}." };
        list.Options.Add(limit);
        list.Options.Add(kind);
        list.SetAction(pr =>
        {
            int most = pr.GetValue(limit);
            if (most < 1) throw new UsageException($"--limit {most}: must be at least 1.");
            using var store = ResultsStore.Open(pr.GetValue(GlobalOptions.Store) ?? ResultsStore.DefaultPath());
            var items = store.ListRuns(most, pr.GetValue(kind));
            // A kind no run has and NasSharp does not know is a misspelling, not an empty list.
            var kinds = Enum.GetValues<ExperimentKind>().Select(ExperimentRun.KindName).ToList();
            if (pr.GetValue(kind) is { } k && items.Count == 0 && !kinds.Contains(k))
                throw new UsageException($"--kind {k}: no such kind of run; the kinds are {string.Join(", ", kinds)}{Spelling.Suggestion(k, kinds)}.");
            if (pr.GetValue(GlobalOptions.Json))
                console.WriteJson(new RunList(store.FilePath, [.. items.Select(Summary)]));
            else
            {
                var table = new Table().AddColumn("run_id").AddColumn("kind").AddColumn("status").AddColumn("started (UTC)")
                    .AddColumn(new TableColumn("seconds").RightAligned()).AddColumn(new TableColumn("results").RightAligned()).AddColumn("command");
                foreach (var r in items)
                    table.AddRow(r.Id.ToString(), r.Kind, r.Status.ToString().ToLowerInvariant(), r.StartedUtc.ToString("yyyy-MM-dd HH:mm:ss"),
                        r.Duration?.TotalSeconds.ToString("F1") ?? "", r.ResultCount.ToString(), Markup.Escape(r.Command));
                console.Ansi.Write(table);
            }
            return 0;
        });

        var show = new Command("show", "Show one run: its configuration, summary and results.");
        var id = new Argument<long>("RUN_ID") { Description = "Run id (from nas runs list)." };
        show.Arguments.Add(id);
        show.SetAction(pr =>
        {
            using var store = ResultsStore.Open(pr.GetValue(GlobalOptions.Store) ?? ResultsStore.DefaultPath());
            var run = Find(store, pr.GetValue(id));
            var results = store.GetResults(run.Id);
            if (pr.GetValue(GlobalOptions.Json))
            {
                console.WriteJson(new RunDetail(Summary(run), Parse(run.ConfigJson), run.SummaryJson is null ? null : Parse(run.SummaryJson), run.Versions,
                    [.. results.Select(r => new ResultOutput(r.Record.ItemKey, r.Record.Arch, r.Record.Space, r.CreatedUtc, Parse(r.Record.ValueJson)))]));
            }
            else
            {
                console.Out.WriteLine($"run {run.Id} ({run.Kind}, {run.Status.ToString().ToLowerInvariant()}): {run.Command}");
                console.Out.WriteLine($"started {run.StartedUtc:u}, {(run.EndedUtc is { } e ? $"ended {e:u}" : "not ended")}, seed {run.Seed}");
                if (run.Note is not null) console.Out.WriteLine($"note: {run.Note}");
                var table = new Table().AddColumn("item").AddColumn("arch").AddColumn("value");
                foreach (var r in results)
                    table.AddRow(Markup.Escape(r.Record.ItemKey), Markup.Escape(r.Record.Arch ?? ""),
                        Markup.Escape(r.Record.ValueJson.Length <= 160 ? r.Record.ValueJson : r.Record.ValueJson[..157] + "..."));
                console.Ansi.Write(table);
            }
            return 0;
        });
        runs.Subcommands.Add(list);
        runs.Subcommands.Add(show);
        runs.Subcommands.Add(Compare(console));
        runs.Subcommands.Add(Export(console));
        return runs;
    }

    private static Command Compare(CliConsole console)
    {
        var compare = new Command("compare", "Runs of one kind side by side: the settings that differ and the headline results.");
        var ids = new Argument<long[]>("RUN_ID") { Description = "Two or more run ids (from nas runs list).", Arity = ArgumentArity.OneOrMore };
        compare.Arguments.Add(ids);
        compare.SetAction(pr =>
        {
            using var store = ResultsStore.Open(pr.GetValue(GlobalOptions.Store) ?? ResultsStore.DefaultPath());
            var comparison = RunComparison.Of([.. pr.GetValue(ids)!.Select(id => Find(store, id))]);
            if (pr.GetValue(GlobalOptions.Json)) { console.WriteJson(comparison); return 0; }
            console.Out.WriteLine($"{comparison.Runs.Count} {comparison.Kind} runs; {comparison.SameSettings} settings agree, {comparison.Differences.Count} differ");
            foreach (var (title, rows) in new[] { ("setting", comparison.Differences), ("result", comparison.Results) })
            {
                if (rows.Count == 0) continue;
                var table = new Table().AddColumn(title);
                foreach (var r in comparison.Runs) table.AddColumn(new TableColumn($"run {r.RunId}").RightAligned());
                foreach (var row in rows)
                    table.AddRow([Markup.Escape(row.Name), .. comparison.Runs.Select(r => Markup.Escape(row.Values.GetValueOrDefault(r.RunId, "–")))]);
                console.Ansi.Write(table);
            }
            return 0;
        });
        return compare;
    }

    private static readonly string[] ExportFormats = ["csv"];

    private static Command Export(CliConsole console)
    {
        var export = new Command("export", $"One row per item of a run as CSV (RFC 4180); kinds: {string.Join(", ", RunExport.Kinds)}.");
        var id = new Argument<long>("RUN_ID") { Description = "Run id (from nas runs list)." };
        var format = new Option<string>("--format") { Description = "csv (the only format).", DefaultValueFactory = _ => "csv" };
        var output = new Option<string?>("--out", "-o") { Description = "Write to this file instead of the standard output." };
        export.Arguments.Add(id);
        export.Options.Add(format);
        export.Options.Add(output);
        export.SetAction(pr =>
        {
            var f = pr.GetValue(format)!;
            if (!ExportFormats.Contains(f)) throw new UsageException($"--format {f}: the formats are {string.Join(", ", ExportFormats)}.");
            var path = pr.GetValue(output);
            bool json = pr.GetValue(GlobalOptions.Json);
            if (json && path is null) throw new UsageException("--json describes the file written: give --out FILE, or leave out --json to print the CSV.");
            using var store = ResultsStore.Open(pr.GetValue(GlobalOptions.Store) ?? ResultsStore.DefaultPath());
            var run = Find(store, pr.GetValue(id));
            var table = RunExport.Of(run, store.GetResults(run.Id));
            if (path is null) { RunExport.WriteCsv(table, console.Out); return 0; }
            var full = RunExport.WriteCsv(table, path);
            if (json) console.WriteJson(new ExportOutput(run.Id, run.Kind, f, full, table.Item, table.Rows.Count));
            else console.Out.WriteLine($"wrote {full}: {table.Rows.Count} rows, one per {table.Item}");
            return 0;
        });
        return export;
    }

    private static RunInfo Find(ResultsStore store, long id) =>
        store.GetRun(id) ?? throw new UsageException($"No run {id} in {store.FilePath}; see nas runs list.");

    public sealed record RunSummary(long RunId, string Kind, RunStatus Status, string Command, long? Seed, DateTimeOffset StartedUtc, DateTimeOffset? EndedUtc,
        double? Seconds, int Results, string? Note);

    /// <param name="Row">What one row of the file is, e.g. "step".</param>
    public sealed record ExportOutput(long RunId, string Kind, string Format, string Path, string Row, int Rows);

    public sealed record RunList(string Store, IReadOnlyList<RunSummary> Runs);

    public sealed record ResultOutput(string Key, string? Arch, string? Space, DateTimeOffset CreatedUtc, JsonElement Value);

    public sealed record RunDetail(RunSummary Run, JsonElement Config, JsonElement? Summary, IReadOnlyDictionary<string, string> Versions, IReadOnlyList<ResultOutput> Results);

    private static RunSummary Summary(RunInfo r) =>
        new(r.Id, r.Kind, r.Status, r.Command, r.Seed, r.StartedUtc, r.EndedUtc, r.Duration?.TotalSeconds, r.ResultCount, r.Note);

    private static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement.Clone();
}
