using NasSharp.Experiments;
using NasSharp.Store;
using NasSharp.Tests.Benchmarks;
using Xunit;

namespace NasSharp.Tests.Experiments;

public class ComparisonSummaryTests(SharedNb201Table shared) : IClassFixture<SharedNb201Table>
{
    private const string Cell = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|";

    private static MethodRun Run(string method, int seed, double c10, double c100, double in16, IReadOnlyList<DerivationOutput>? derivations = null) =>
        new(method, seed, Cell, 10 * seed, Accuracies(c10, c100, in16), null, derivations ?? []);

    private static Dictionary<string, double> Accuracies(double c10, double c100, double in16) =>
        new() { ["cifar10"] = c10, ["cifar100"] = c100, ["imagenet16"] = in16 };

    [Fact]
    public void TheSummaryHasSampleMeansAndStandardDeviationsAndTheExactSpaceMean()
    {
        var runs = new[]
        {
            Run("nasi-fix", 1, 93.0, 70.0, 44.0), Run("nasi-fix", 2, 94.0, 72.0, 46.0), Run("nasi-fix", 3, 92.0, 71.0, 45.0),
            Run("naswot", 1, 90.0, 68.0, 40.0),
        };
        var o = ComparisonExperiment.Summarise(runs, ["nasi-fix", "naswot"], shared.Table, "nb201", runId: null, resumed: false);
        var nasi = o.Methods.Single(m => m.Method == "nasi-fix");
        Assert.Equal(3, nasi.Seeds);
        Assert.Equal(93.0, nasi.TestAccuracyPercent["cifar10"].Mean, 1e-12);
        Assert.Equal(1.0, nasi.TestAccuracyPercent["cifar10"].Std, 1e-12);           // sample std of 93, 94, 92
        Assert.Equal("93.00 ± 1.00", nasi.TestAccuracyPercent["cifar10"].Format(nasi.Seeds));
        var naswot = o.Methods.Single(m => m.Method == "naswot");
        Assert.Equal("90.00", naswot.TestAccuracyPercent["cifar10"].Format(naswot.Seeds));  // one seed: no spread shown
        Assert.Equal(71.0, nasi.TestAccuracyPercent["cifar100"].Mean, 1e-12);
        Assert.Equal(20.0, nasi.SearchSeconds, 1e-12);
        Assert.Equal(0.0, o.Methods.Single(m => m.Method == "naswot").TestAccuracyPercent["cifar10"].Std);
        // The uniform random cell: the plain mean over the table's 15,625 rows, computed independently here.
        double mean = shared.Table.Entries.Average(e => e.Accuracies.Cifar10Test);
        Assert.Equal(mean, o.UniformRandom["cifar10"].Mean, 1e-9);
        Assert.Equal(93.55, o.Published["NASI (paper)"].Targets["cifar10"]);
        Assert.Equal(2, o.Methods.Count);   // no seed recorded another derivation
    }

    [Fact]
    public void AnotherDerivationGetsARowOfItsOwnAndSurvivesTheStore()
    {
        const string argmax = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
        MethodRun Nasi(int seed, double c10, double c10Argmax) =>
            Run("nasi-fix", seed, c10, 70, 44, [new DerivationOutput("argmax", argmax, Accuracies(c10Argmax, 72, 46))]);
        var runs = new[] { Nasi(1, 92.0, 94.0), Nasi(2, 92.5, 93.0), Run("naswot", 1, 90.0, 68.0, 40.0) };
        var o = ComparisonExperiment.Summarise(runs, ["nasi-fix", "naswot"], shared.Table, "nb201", runId: null, resumed: false);
        Assert.Equal(["nasi-fix", "nasi-fix (argmax)", "naswot"], o.Methods.Select(m => m.Method));
        var row = o.Methods[1];
        Assert.Equal(93.5, row.TestAccuracyPercent["cifar10"].Mean, 1e-12);
        Assert.Equal(72.0, row.TestAccuracyPercent["cifar100"].Mean, 1e-12);
        Assert.All(row.Runs, r => Assert.Equal(argmax, r.Arch));
        Assert.Equal(92.25, o.Methods[0].TestAccuracyPercent["cifar10"].Mean, 1e-12);   // the method's own row is unchanged

        // Stored and found again exactly (the store's JSON dialect), and a run stored without a derivation comes back without it.
        using var dir = new NasSharp.Tests.Store.TempDir();
        long id;
        using (var store = ResultsStore.Open(Path.Combine(dir.Path, "r.db")))
        {
            id = store.StartRun(new RunSpec("test", "nas test")).Id;
            var journal = new StoreJournal(store, id);
            journal.Record("nasi-fix/1", runs[0]);
            journal.Record("naswot/1", runs[2]);
        }
        using var reopened = ResultsStore.Open(Path.Combine(dir.Path, "r.db"));
        var found = new StoreJournal(reopened, id);
        Assert.True(found.TryFind<MethodRun>("nasi-fix/1", out var nasi));
        Assert.Equal(NasJson.Serialize(runs[0]), NasJson.Serialize(nasi));
        Assert.True(found.TryFind<MethodRun>("naswot/1", out var naswot));
        Assert.Empty(naswot.Derivations);
        Assert.False(found.TryFind<MethodRun>("nasi-fix/2", out _));
    }
}
