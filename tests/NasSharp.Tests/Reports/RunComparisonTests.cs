using NasSharp.Reports;
using NasSharp.Store;
using NasSharp.Tests.Cli;
using Xunit;

namespace NasSharp.Tests.Reports;

/// <summary>
/// Runs stored by hand with planted configurations and outputs, compared: exactly the settings that differ (a nested
/// one, a list, one only one run has), the count of those that agree, and the outputs' scalar fields side by side.
/// </summary>
[Collection(TorchCollection.Name)] // the command test runs nas in process
public class RunComparisonTests
{
    private sealed record Space(string Name, int Cells);

    private sealed record Config(Space Space, int N, IReadOnlyList<string> Proxies, long? TruthRun);

    private sealed record Agreement(double? Kendall);

    private sealed record Output(long RunId, bool Resumed, string Space, Dictionary<string, Agreement> Proxies, Dictionary<string, double> Published,
        IReadOnlyList<Agreement> Items);

    private static (long A, long B, long C) Store(ResultsStore store)
    {
        long Run(Config config, Output? output, string kind = "correlate")
        {
            var run = store.StartRun(new RunSpec(kind, $"nas bench correlate --n {config.N}", config, 1));
            if (output is not null) store.CompleteRun(run.Id, output with { RunId = run.Id });
            return run.Id;
        }
        var published = new Dictionary<string, double> { ["paper"] = 0.7 };
        long a = Run(new Config(new Space("nb201", 5), 100, ["params", "naswot"], null),
            new Output(0, false, "nb201", new() { ["params"] = new(0.5), ["naswot"] = new(0.625) }, published, [new(1)]));
        long b = Run(new Config(new Space("nb201", 3), 100, ["params", "naswot"], 7),
            new Output(0, false, "nb201", new() { ["params"] = new(0.5), ["naswot"] = new(null) }, published, [new(1)]));
        long c = Run(new Config(new Space("nb201", 5), 200, ["params"], null), null, "search");
        return (a, b, c);
    }

    [Fact]
    public void TheSettingsThatDifferAndTheResultsAreSideBySide()
    {
        var dir = Path.Combine(Path.GetTempPath(), "nassharp-compare-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            using var store = ResultsStore.Open(Path.Combine(dir, "r.db"));
            var (a, b, c) = Store(store);
            var comparison = RunComparison.Of([store.GetRun(a)!, store.GetRun(b)!]);
            Assert.Equal("correlate", comparison.Kind);
            Assert.Equal([a, b], comparison.Runs.Select(r => r.RunId));
            // space.name, n and proxies agree; space.cells differs, truth_run is null in one run.
            Assert.Equal(3, comparison.SameSettings);
            Assert.Equal(["space.cells: 5 | 3", "truth_run: null | 7"], comparison.Differences.Select(v => Line(v, a, b)));
            // run_id, resumed, published figures and the item list are no results to compare; a non-finite τ is null.
            Assert.Equal(["space: nb201 | nb201", "proxies.params.kendall: 0.5 | 0.5", "proxies.naswot.kendall: 0.625 | null"],
                comparison.Results.Select(v => Line(v, a, b)));
            // A run that has not completed has no results (its kind is made the others' for this): no value in its column.
            var pending = RunComparison.Of([store.GetRun(a)!, store.GetRun(b)!, store.GetRun(c)! with { Kind = "correlate" }]);
            Assert.All(pending.Results, r => Assert.Equal([a, b], r.Values.Keys));
            Assert.Contains(pending.Differences, d => d.Name == "n" && d.Values[c] == "200");
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Line(ComparedValue v, params long[] runs) => $"{v.Name}: {string.Join(" | ", runs.Select(r => v.Values.GetValueOrDefault(r, "–")))}";

    [Fact]
    public void TheCommandRefusesRunsOfDifferentKindsUnknownIdsAndASingleRun()
    {
        using var cli = new CliHarness();
        long a, b, c;
        using (var store = ResultsStore.Open(cli.StorePath)) (a, b, c) = Store(store);
        var json = cli.Json("runs", "compare", a.ToString(), b.ToString());
        Assert.Equal(2, json.GetProperty("differences").GetArrayLength());
        Assert.Equal("7", json.GetProperty("differences")[1].GetProperty("values").GetProperty(b.ToString()).GetString());
        var (code, text, _) = cli.Run("runs", "compare", a.ToString(), b.ToString());
        Assert.Equal(0, code);
        Assert.StartsWith("2 correlate runs; 3 settings agree, 2 differ", text);
        Assert.Equal($"error: Run {a} is a correlate run and run {c} a search run; compare runs of one kind.",
            cli.UsageError("runs", "compare", a.ToString(), c.ToString()));
        Assert.Equal($"error: No run 99 in {cli.StorePath}; see nas runs list.", cli.UsageError("runs", "compare", a.ToString(), "99"));
        Assert.Equal("error: Comparing needs at least two runs; 1 given.", cli.UsageError("runs", "compare", a.ToString()));
        Assert.Equal($"error: Run {a} is given twice; give each run once.", cli.UsageError("runs", "compare", a.ToString(), a.ToString()));
    }
}
