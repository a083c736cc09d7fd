using System.CommandLine;
using System.Text.Json;
using NasSharp.Experiments;
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
            var run = store.GetRun(pr.GetValue(id)) ?? throw new UsageException($"No run {pr.GetValue(id)} in {store.FilePath}; see nas runs list.");
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
        return runs;
    }

    public sealed record RunSummary(long RunId, string Kind, RunStatus Status, string Command, long? Seed, DateTimeOffset StartedUtc, DateTimeOffset? EndedUtc,
        double? Seconds, int Results, string? Note);

    public sealed record RunList(string Store, IReadOnlyList<RunSummary> Runs);

    public sealed record ResultOutput(string Key, string? Arch, string? Space, DateTimeOffset CreatedUtc, JsonElement Value);

    public sealed record RunDetail(RunSummary Run, JsonElement Config, JsonElement? Summary, IReadOnlyDictionary<string, string> Versions, IReadOnlyList<ResultOutput> Results);

    private static RunSummary Summary(RunInfo r) =>
        new(r.Id, r.Kind, r.Status, r.Command, r.Seed, r.StartedUtc, r.EndedUtc, r.Duration?.TotalSeconds, r.ResultCount, r.Note);

    private static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement.Clone();
}
