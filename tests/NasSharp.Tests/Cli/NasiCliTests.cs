using NasSharp.Data;
using NasSharp.Experiments;
using NasSharp.Spaces;
using Xunit;

namespace NasSharp.Tests.Cli;

[Collection(TorchCollection.Name)]
public class NasiCliTests
{
    private static readonly string[] Tiny = ["--strategy", "nasi", "--labels", "random", "--data", "gaussian", "--steps", "2", "--batch", "4", "--channels", "4", "--cells", "1", "--seed", "3"];

    [Fact]
    public void Nb201SearchReportsTheCellItsAlphaAndItsTableAccuracies()
    {
        using var cli = new CliHarness();
        var j = cli.Json(["search", "--space", "nb201", .. Tiny]);
        var arch = Nb201Genotype.Parse(j.GetProperty("arch").GetString()!);
        Assert.Equal("nasi", j.GetProperty("strategy").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, j.GetProperty("no_arch_reason").ValueKind);
        var alpha = j.GetProperty("alpha")[0];
        Assert.Equal("cell", alpha.GetProperty("name").GetString());
        Assert.Equal(6, alpha.GetProperty("edges").GetArrayLength());
        // The derived operation of each edge is the one of largest probability other than none (DARTS' rule); the plain
        // argmax, none allowed, is reported beside it.
        var derivations = j.GetProperty("derivations");
        Assert.Equal(["without-none", "argmax"], derivations.EnumerateArray().Select(d => d.GetProperty("rule").GetString()));
        Assert.Equal(arch.Canonical, derivations[0].GetProperty("arch").GetString());
        var argmax = Nb201Genotype.Parse(derivations[1].GetProperty("arch").GetString()!);
        for (int e = 0; e < 6; e++)
        {
            var probabilities = alpha.GetProperty("edges")[e].EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
            Assert.Equal(1.0, probabilities.Values.Sum(), 1e-9);
            Assert.Equal(probabilities.Where(p => p.Key != "none").MaxBy(p => p.Value).Key, arch.Operations[e].Token());
            Assert.Equal(probabilities.MaxBy(p => p.Value).Key, argmax.Operations[e].Token());
        }
        var table = NasSharp.Benchmarks.Nb201Table.LoadDefault();
        Assert.Equal(table.Lookup(arch).Accuracies.Cifar10Test, j.GetProperty("table_test_accuracy_percent").GetProperty("cifar10").GetDouble());
        Assert.Equal(table.Lookup(arch).Accuracies.ImageNet16Test, j.GetProperty("table_test_accuracy_percent").GetProperty("imagenet16").GetDouble());
        Assert.True(j.GetProperty("search_seconds").GetDouble() > 0);
        Assert.DoesNotContain(Nb201Operation.None, arch.Operations);
        Assert.Equal(table.Lookup(argmax).Accuracies.Cifar10Test, derivations[1].GetProperty("test_accuracy_percent").GetProperty("cifar10").GetDouble());
        Assert.Equal(2, j.GetProperty("steps").GetArrayLength());

        // Same seed, same search (the second run resumes the stored steps of the first and must agree with it).
        var again = cli.Json(["search", "--space", "nb201", .. Tiny]);
        Assert.Equal(j.GetProperty("arch").GetString(), again.GetProperty("arch").GetString());
    }

    [Fact]
    public void StraightThroughSearchIsItsOwnRunAndSaysSo()
    {
        using var cli = new CliHarness();
        var soft = cli.Json(["search", "--space", "nb201", .. Tiny]);
        var hard = cli.Json(["search", "--space", "nb201", .. Tiny, "--gumbel", "hard"]);
        Assert.False(soft.GetProperty("options").GetProperty("hard").GetBoolean());
        Assert.True(hard.GetProperty("options").GetProperty("hard").GetBoolean());
        // Not a resume of the soft search's steps: a different run, and a one-hot forward pass gives other trace norms.
        Assert.NotEqual(soft.GetProperty("run_id").GetInt64(), hard.GetProperty("run_id").GetInt64());
        Assert.False(hard.GetProperty("resumed").GetBoolean());
        Assert.NotEqual(soft.GetProperty("trace_norm").GetProperty("mean").GetDouble(), hard.GetProperty("trace_norm").GetProperty("mean").GetDouble());
        Nb201Genotype.Parse(hard.GetProperty("arch").GetString()!);

        // The search command's --parameterization defaults to ntk for the eigen strategy; NASI keeps its own default
        // unless it is given.
        Assert.Equal("standard", soft.GetProperty("options").GetProperty("parameterization").GetString());
        var ntk = cli.Json(["search", "--space", "nb201", .. Tiny, "--parameterization", "ntk"]);
        Assert.Equal("ntk", ntk.GetProperty("options").GetProperty("parameterization").GetString());
        Assert.NotEqual(soft.GetProperty("run_id").GetInt64(), ntk.GetProperty("run_id").GetInt64());
    }

    [Fact]
    public void DartsSearchDerivesAGenotypeOfTheDartsSpace()
    {
        using var cli = new CliHarness();
        var j = cli.Json(["search", "--space", "darts", .. Tiny[..^4], "--cells", "3", "--seed", "4"]);
        var genotype = DartsGenotype.Parse(j.GetProperty("arch").GetString()!);
        Assert.Equal(2, j.GetProperty("alpha").GetArrayLength());
        Assert.Equal(JsonNull, j.GetProperty("table_test_accuracy_percent").ValueKind);   // no table for darts
        Assert.Equal(1, j.GetProperty("derivations").GetArrayLength());   // DARTS' own derivation only
        Assert.Equal(genotype.Canonical, DartsGenotype.Parse(genotype.Canonical).Canonical);
    }

    private const System.Text.Json.JsonValueKind JsonNull = System.Text.Json.JsonValueKind.Null;

    [Trait("Category", "Reliability")]
    [Fact]
    public void ASearchWhoseGradientsAreAllZeroSelectsNoCellAndSaysWhy()
    {
        using var cli = new CliHarness();
        // τ = 10⁻⁶ makes the Gumbel-softmax weights one-hot in float32: their derivatives, and so every G_t, are exactly 0.
        var (code, stdout, stderr) = cli.Run(["search", "--space", "nb201", .. Tiny, "--tau", "1e-6", "--json"]);
        Assert.Equal(1, code);
        // Progress lines, then the one error line.
        Assert.Equal("error: the search selected no architecture: NASI's gradient ∇_α R was zero at all 2 steps (τ = 1E-06 saturates " +
            "the Gumbel-softmax or the gradients underflow), so no operation was preferred on any edge and the cell a derivation gives would " +
            "be its tie-break, not a choice; use a τ nearer the default 10.", stderr.TrimEnd('\n').Split('\n')[^1]);
        Assert.Single(stderr.Split('\n'), l => l.StartsWith("error:", StringComparison.Ordinal));
        var j = System.Text.Json.JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(System.Text.Json.JsonValueKind.Null, j.GetProperty("arch").ValueKind);
        Assert.StartsWith("NASI's gradient ∇_α R was zero", j.GetProperty("no_arch_reason").GetString());
        Assert.Equal(0, j.GetProperty("derivations").GetArrayLength()); // no tie-break cell passed off as a result
        Assert.All(j.GetProperty("steps").EnumerateArray(), s => Assert.Equal(0, s.GetProperty("gradient_norm").GetDouble()));
    }

    [Fact]
    public void BadNasiOptionsAreUsageErrors()
    {
        using var cli = new CliHarness();
        var (code, _, err) = cli.Run(["search", "--space", "nb201", .. Tiny, "--nu", "100", "--nu-adaptive", "500"]);
        Assert.Equal(2, code);
        Assert.Contains("--nu", err);
        (code, _, err) = cli.Run(["search", "--space", "nb201", .. Tiny, "--gumbel", "sharp"]);
        Assert.Equal(2, code);
        Assert.Contains("--gumbel sharp", err);
        // The mlp space has a relaxation too (its activations mixed per layer): NASI searches it.
        (code, var output, _) = cli.Run(["search", "--space", "mlp", "--depth", "2", "--width", "8", .. Tiny[..^6]]);
        Assert.Equal(0, code);
        Assert.Contains("arch: w8/", output);
        // The comparison takes NASI's temperature too, checked before any data is loaded.
        (code, _, err) = cli.Run("bench", "search", "--tau", "0");
        Assert.Equal(2, code);
        Assert.Contains("τ must be positive", err);
    }

    [Trait("Category", "Reliability")]
    [Theory]
    [InlineData("--sigma-w", "2")]
    [InlineData("--sigma-b", "0")]
    [InlineData("--dtype", "float64")]
    [InlineData("--ntk-batch", "8")]
    public void AnOptionNasiDoesNotUseIsRefusedNotIgnored(string option, string value)
    {
        using var cli = new CliHarness();
        // The supernet has its own initialisation and runs in float32: these options would change nothing, silently.
        var line = cli.UsageError(["search", "--space", "nb201", .. Tiny, option, value, "--json"]);
        Assert.StartsWith($"error: {option} does not apply to --strategy nasi (its settings: --alpha-gradient, --batch,", line);
    }

    [Fact]
    public void AnInterruptedSearchResumesOnlyUnderTheSameDataOptions()
    {
        using var cli = new CliHarness();
        string[] args = ["search", "--space", "nb201", "--dataset", "cifar10", .. Tiny];
        // A search with --train-size 200 that stopped before finishing: its run is in the store, unfinished.
        var space = SpaceRegistry.Default.Create("nb201", new Settings([new("channels", "4"), new("cells", "1")]));
        var strategy = NasSharp.Search.StrategyRegistry.Default.Create("nasi", new Settings([new("steps", "2"), new("batch", "4")]));
        var spec = new DataSpec { Dataset = "cifar10", TrainSize = "200", Inputs = InputKind.Gaussian, Labels = LabelKind.Random };
        var experiment = new SearchExperiment(space, new ExperimentData(spec, DataDirectory.Resolve(null).Path, 3), strategy, 3);
        long interrupted;
        using (var run = ExperimentRun.Start(cli.StorePath, experiment.Kind, experiment.Config, experiment.Seed, "nas search (interrupted)"))
            interrupted = run.RunId;

        // Another training split is another search: a new run, nothing resumed.
        var other = cli.Json([.. args, "--train-size", "300"]);
        Assert.False(other.GetProperty("resumed").GetBoolean());
        Assert.NotEqual(interrupted, other.GetProperty("run_id").GetInt64());
        // The same options resume the interrupted run.
        var same = cli.Json([.. args, "--train-size", "200"]);
        Assert.True(same.GetProperty("resumed").GetBoolean());
        Assert.Equal(interrupted, same.GetProperty("run_id").GetInt64());
    }
}
