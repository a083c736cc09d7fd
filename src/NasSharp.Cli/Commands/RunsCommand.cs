using System.CommandLine;
using System.Text.Json;
using NasSharp.Store;
using Spectre.Console;

namespace NasSharp.Cli.Commands;

/// <summary><c>nas runs list|show</c>: what the results store holds.</summary>
public static class RunsCommand
{
    public static Command Create(CliConsole console)
    {
        var runs = new Command("runs", "List and show recorded runs in the results store.");
        var list = new Command("list", "List runs, newest first.");
        var limit = new Option<int>("--limit") { Description = "At most this many runs.", DefaultValueFactory = _ => 50 };
        var kind = new Option<string?>("--kind") { Description = "Only runs of this kind (train, ntk, search, ...)." };
        list.Options.Add(limit);
        list.Options.Add(kind);
        list.SetAction(pr =>
        {
            using var store = ResultsStore.Open(pr.GetValue(GlobalOptions.Store) ?? ResultsStore.DefaultPath());
            var items = store.ListRuns(pr.GetValue(limit), pr.GetValue(kind));
            if (pr.GetValue(GlobalOptions.Json))
                console.WriteJson(new { store = store.FilePath, runs = items.Select(Summary).ToList() });
            else
            {
                var table = new Table().AddColumn("id").AddColumn("kind").AddColumn("status").AddColumn("started (UTC)")
                    .AddColumn(new TableColumn("seconds").RightAligned()).AddColumn(new TableColumn("results").RightAligned()).AddColumn("command");
                foreach (var r in items)
                    table.AddRow(r.Id.ToString(), r.Kind, r.Status.ToString().ToLowerInvariant(), r.StartedUtc.ToString("yyyy-MM-dd HH:mm:ss"),
                        r.Duration?.TotalSeconds.ToString("F1") ?? "", r.ResultCount.ToString(), Markup.Escape(r.Command));
                console.Ansi.Write(table);
            }
            return 0;
        });

        var show = new Command("show", "Show one run: its configuration, summary and results.");
        var id = new Argument<long>("ID") { Description = "Run id (from nas runs list)." };
        show.Arguments.Add(id);
        show.SetAction(pr =>
        {
            using var store = ResultsStore.Open(pr.GetValue(GlobalOptions.Store) ?? ResultsStore.DefaultPath());
            var run = store.GetRun(pr.GetValue(id)) ?? throw new UsageException($"No run {pr.GetValue(id)} in {store.FilePath}; see nas runs list.");
            var results = store.GetResults(run.Id);
            if (pr.GetValue(GlobalOptions.Json))
            {
                console.WriteJson(new
                {
                    run = Summary(run),
                    config = Parse(run.ConfigJson),
                    summary = run.SummaryJson is null ? (JsonElement?)null : Parse(run.SummaryJson),
                    versions = run.Versions,
                    results = results.Select(r => new { key = r.Record.ItemKey, arch = r.Record.Arch, scores = r.Record.Scores, metrics = r.Record.Metrics, notes = r.Record.Notes }).ToList(),
                });
            }
            else
            {
                console.Out.WriteLine($"run {run.Id} ({run.Kind}, {run.Status.ToString().ToLowerInvariant()}): {run.Command}");
                console.Out.WriteLine($"started {run.StartedUtc:u}, {(run.EndedUtc is { } e ? $"ended {e:u}" : "not ended")}, seed {run.Seed}");
                if (run.Error is not null) console.Out.WriteLine($"note: {run.Error}");
                var table = new Table().AddColumn("item").AddColumn("arch").AddColumn("scores").AddColumn("metrics");
                foreach (var r in results)
                    table.AddRow(Markup.Escape(r.Record.ItemKey), Markup.Escape(r.Record.Arch ?? ""),
                        Markup.Escape(string.Join(", ", r.Record.Scores.Select(kv => $"{kv.Key}={kv.Value:G4}"))),
                        Markup.Escape(string.Join(", ", r.Record.Metrics.Select(kv => $"{kv.Key}={kv.Value:G4}"))));
                console.Ansi.Write(table);
            }
            return 0;
        });
        runs.Subcommands.Add(list);
        runs.Subcommands.Add(show);
        return runs;
    }

    private static object Summary(RunInfo r) => new
    {
        id = r.Id, kind = r.Kind, status = r.Status.ToString().ToLowerInvariant(), command = r.Command, seed = r.Seed,
        started_utc = r.StartedUtc, ended_utc = r.EndedUtc, seconds = r.Duration?.TotalSeconds, results = r.ResultCount, note = r.Error,
    };

    private static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement.Clone();
}
