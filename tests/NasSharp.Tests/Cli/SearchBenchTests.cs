using NasSharp.Benchmarks;
using NasSharp.Cli;
using NasSharp.Cli.Commands;
using NasSharp.Tests.Benchmarks;
using Xunit;

namespace NasSharp.Tests.Cli;

public class SearchBenchTests(SharedNb201Table shared) : IClassFixture<SharedNb201Table>
{
    private static SearchRun Run(string method, int seed, double c10, double c100, double in16) =>
        new(method, seed, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 10 * seed, new Nb201Accuracies(0, c10, 0, c100, 0, in16));

    [Fact]
    public void TheSummaryHasSampleMeansAndStandardDeviationsAndTheExactSpaceMean()
    {
        var runs = new[]
        {
            Run("nasi-fix", 1, 93.0, 70.0, 44.0), Run("nasi-fix", 2, 94.0, 72.0, 46.0), Run("nasi-fix", 3, 92.0, 71.0, 45.0),
            Run("naswot", 1, 90.0, 68.0, 40.0),
        };
        var o = SearchBenchCommand.Summarise(runs, ["nasi-fix", "naswot"], runId: null, shared.Table);
        var nasi = o.Methods.Single(m => m.Method == "nasi-fix");
        Assert.Equal(3, nasi.Seeds);
        Assert.Equal(93.0, nasi.Cifar10.Mean, 1e-12);
        Assert.Equal(1.0, nasi.Cifar10.Std, 1e-12);           // sample std of 93, 94, 92
        Assert.Equal(71.0, nasi.Cifar100.Mean, 1e-12);
        Assert.Equal(20.0, nasi.SearchSeconds, 1e-12);
        Assert.Equal(0.0, o.Methods.Single(m => m.Method == "naswot").Cifar10.Std);
        // The uniform random cell: the plain mean over the table's 15,625 rows, computed independently here.
        double mean = shared.Table.Entries.Average(e => e.Accuracies.Cifar10Test);
        Assert.Equal(mean, o.SpaceMean[0].Mean, 1e-9);
        Assert.Equal(93.55, o.Published["NASI (paper)"][0]);
        Assert.DoesNotContain(o.Methods, m => m.Method.EndsWith("(argmax with none)"));   // no seed recorded one
    }

    [Fact]
    public void NasisArgmaxCellGetsARowOfItsOwnAndSurvivesTheStore()
    {
        const string argmax = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
        SearchRun Nasi(int seed, double c10, double c10Argmax) => Run("nasi-fix", seed, c10, 70, 44) with
        {
            ArgmaxArch = argmax, ArgmaxAccuracies = new Nb201Accuracies(1, c10Argmax, 2, 72, 3, 46),
        };
        var runs = new[] { Nasi(1, 92.0, 94.0), Nasi(2, 92.5, 93.0), Run("naswot", 1, 90.0, 68.0, 40.0) };
        var o = SearchBenchCommand.Summarise(runs, ["nasi-fix", "naswot"], runId: null, shared.Table);
        Assert.Equal(["nasi-fix", "nasi-fix (argmax with none)", "naswot"], o.Methods.Select(m => m.Method));
        var row = o.Methods[1];
        Assert.Equal(93.5, row.Cifar10.Mean, 1e-12);
        Assert.Equal(72.0, row.Cifar100.Mean, 1e-12);
        Assert.All(row.Runs, r => Assert.Equal(argmax, r.Arch));
        Assert.Equal(92.25, o.Methods[0].Cifar10.Mean, 1e-12);   // the method's own row is unchanged

        // Stored and found again exactly, and a run stored without it comes back without it.
        using var cli = new CliHarness();
        var console = new CliConsole(new StringWriter(), new StringWriter(), interactive: false);
        var pr = NasApp.Build(console).Parse(["runs", "list", "--store", cli.StorePath]);
        using (var recorder = RunRecorder.Start(pr, console, "bench-search-test", new { a = 1 }, 1, resumable: true))
        {
            var journal = new StoreComparisonJournal(recorder);
            journal.Record(runs[0]);
            journal.Record(runs[2]);
        }
        using var resumed = RunRecorder.Start(pr, console, "bench-search-test", new { a = 1 }, 1, resumable: true);
        Assert.True(resumed.Resumed);
        var found = new StoreComparisonJournal(resumed);
        Assert.Equal(runs[0], found.Find("nasi-fix", 1));
        Assert.Equal(runs[2], found.Find("naswot", 1));
        Assert.Null(found.Find("nasi-fix", 2));
    }
}
