using System.CommandLine;
using NasSharp.Data;
using NasSharp.Experiments;
using NasSharp.Search;
using NasSharp.Spaces;
using Spectre.Console;

namespace NasSharp.Cli.Commands;

/// <summary><c>nas search</c>: one strategy searches one space; the selected architecture, looked up in the space's table when it has one.</summary>
public static class SearchCommand
{
    public static Command Create(CliConsole console, Registries registries)
    {
        var cmd = new Command("search", "Search a space with one strategy at initialisation (train-free), and report the architecture it selects " +
            "(resumable: rerun the same command after an interruption).");
        var seed = ExperimentCli.NewSeed();
        var spaceOptions = new SpaceCliOptions(cmd, registries.Spaces);
        var strategyOptions = new StrategyCliOptions(cmd, registries.Strategies, EigenSearch.StrategyName);
        var dataOptions = new DataOptions(cmd);
        foreach (var o in new Option[] { seed }.Concat(ExperimentCli.NewClusterOptions())) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            var space = spaceOptions.Resolve(pr);
            var strategy = strategyOptions.Resolve(pr);
            long s = pr.GetValue(seed);
            var data = DataOptions.Load(pr, console, dataOptions.Spec(pr), s);
            var table = Tables.TryLoad(space, pr, console);
            var output = ExperimentCli.Run(pr, console, new SearchExperiment(space, data, strategy, s, table), o => Render(console, o));
            // No architecture is a failed search: exit code 1 and one line on stderr, also under --json (whose output says why too).
            if (output.Arch is not null) return 0;
            console.Error.WriteLine($"error: the search selected no architecture: {output.NoArchReason}.");
            return 1;
        });
        return cmd;
    }

    private static void Render(CliConsole console, SearchOutput o)
    {
        if (o.Ranked.Count > 0)
        {
            var measures = o.Ranked.SelectMany(c => c.Measures.Keys).Distinct().Where(k => k != "lambda_min").ToList();
            var table = new Table().Title($"{o.Strategy} search of {Markup.Escape(o.Space)} on {Markup.Escape(o.Dataset)}: {o.Ranked.Count} candidates")
                .AddColumn("rank").AddColumn("arch").AddColumn(new TableColumn("score").RightAligned());
            foreach (var m in measures) table.AddColumn(new TableColumn(Markup.Escape(m)).RightAligned());
            table.AddColumn(new TableColumn("val acc %").RightAligned()).AddColumn(new TableColumn("test acc %").RightAligned());
            foreach (var c in o.Ranked)
                table.AddRow([c.Rank.ToString(), Markup.Escape(c.Arch), double.IsFinite(c.Score) ? c.Score.ToString("G4") : "[red]non-finite[/]",
                    .. measures.Select(m => c.Measures.TryGetValue(m, out var v) ? v.ToString("G4") : ""),
                    c.ValAccuracyPercent?.ToString("F2") ?? "", c.TestAccuracyPercent?.ToString("F2") ?? ""]);
            console.Ansi.Write(table);
        }
        foreach (var g in o.Alpha)
        {
            var ops = g.Edges[0].Keys.ToArray();
            var table = new Table().Title($"{o.Strategy} on {Markup.Escape(o.Space)} ({Markup.Escape(o.Dataset)}): probabilities of '{Markup.Escape(g.Name)}' after the step")
                .AddColumn("edge");
            foreach (var op in ops) table.AddColumn(new TableColumn(Markup.Escape(op)).RightAligned());
            for (int e = 0; e < g.Edges.Count; e++)
            {
                double best = g.Edges[e].Values.Max();
                table.AddRow([e.ToString(), .. ops.Select(op => g.Edges[e][op] == best ? $"[bold]{g.Edges[e][op]:F4}[/]" : $"{g.Edges[e][op]:F4}")]);
            }
            console.Ansi.Write(table);
        }
        if (o.TraceNorm is { } t)
            console.Out.WriteLine($"trace norm of the sampled architectures: min {t.Min:G4}, mean {t.Mean:G4}, max {t.Max:G4}; final ν {t.FinalNu:G4}");
        console.Out.WriteLine(o.Arch is null ? $"no architecture: {o.NoArchReason}" : $"arch: {o.Arch}");
        if (o.Degeneracy is { } degeneracy) console.Out.WriteLine($"warning: degenerate architecture: {degeneracy}.");
        if (o.Caveat is { } caveat) console.Out.WriteLine($"warning: {caveat}");
        if (o.TestAccuracyPercent is not null)
            console.Out.WriteLine($"trained: validation {TrainCommand.Percent(o.ValAccuracyPercent)}, test {TrainCommand.Percent(o.TestAccuracyPercent)}");
        if (o.TableTestAccuracyPercent is { } a)
            console.Out.WriteLine($"table test accuracy: {string.Join(", ", a.Select(kv => $"{kv.Key} {kv.Value:F2}%"))}");
        foreach (var d in o.Derivations.Skip(1).Where(d => d.Arch != o.Arch))
            console.Out.WriteLine($"derived by {d.Rule}: {d.Arch}{(d.TestAccuracyPercent is { } b ? ", " + string.Join(", ", b.Select(kv => $"{kv.Key} {kv.Value:F2}%")) : "")}");
        console.Out.WriteLine($"search {o.SearchSeconds:F1} s (scoring {o.ScoringSeconds:F1} s, training {o.TrainingSeconds:F1} s; run {o.RunId})");
    }
}

/// <summary>A space's table of trained accuracies, when it has one and the file is found.</summary>
public static class Tables
{
    /// <summary>The space's table, or null (a missing file is said on stderr: the command goes on without the look-up).</summary>
    public static IGroundTruth? TryLoad(ISearchSpace space, ParseResult pr, CliConsole console)
    {
        try { return space.GroundTruth(DataDirectory.Resolve(pr.GetValue(GlobalOptions.DataDir)).Path); }
        catch (DataNotFoundException e)
        {
            console.Error.WriteLine($"note: {e.Message}; the found architecture is not looked up.");
            return null;
        }
    }

    /// <summary>The space's table; a space without one is a usage error naming <paramref name="why"/>.</summary>
    public static IGroundTruth Require(ISearchSpace space, ParseResult pr, string why) =>
        space.GroundTruth(DataDirectory.Resolve(pr.GetValue(GlobalOptions.DataDir)).Path)
        ?? throw new UsageException($"--space {space.SpaceName}: {why}, and this space has no table of trained accuracies (nb201 has one).");
}
