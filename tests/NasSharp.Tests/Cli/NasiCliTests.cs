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
        Assert.Equal("nasi-fix", j.GetProperty("strategy").GetString());
        var alpha = j.GetProperty("alpha")[0];
        Assert.Equal("cell", alpha.GetProperty("name").GetString());
        Assert.Equal(6, alpha.GetProperty("edges").GetArrayLength());
        // The derived operation of each edge is the one of largest probability other than none (DARTS' rule); the plain
        // argmax, none allowed, is reported beside it.
        var argmax = Nb201Genotype.Parse(j.GetProperty("arch_argmax").GetString()!);
        for (int e = 0; e < 6; e++)
        {
            var probabilities = alpha.GetProperty("edges")[e].EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
            Assert.Equal(1.0, probabilities.Values.Sum(), 1e-9);
            Assert.Equal(probabilities.Where(p => p.Key != "none").MaxBy(p => p.Value).Key, arch.Operations[e].Token());
            Assert.Equal(probabilities.MaxBy(p => p.Value).Key, argmax.Operations[e].Token());
        }
        var table = NasSharp.Benchmarks.Nb201Table.LoadDefault();
        Assert.Equal(table.Lookup(arch).Accuracies.Cifar10Test, j.GetProperty("nb201").GetProperty("cifar10").GetDouble());
        Assert.Equal(table.Lookup(arch).Accuracies.ImageNet16Test, j.GetProperty("nb201").GetProperty("imagenet16").GetDouble());
        Assert.True(j.GetProperty("search_seconds").GetDouble() > 0);
        Assert.DoesNotContain(Nb201Operation.None, arch.Operations);
        Assert.Equal(table.Lookup(argmax).Accuracies.Cifar10Test, j.GetProperty("nb201_argmax").GetProperty("cifar10").GetDouble());

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
        Assert.Equal("soft", soft.GetProperty("gumbel").GetString());
        Assert.Equal("hard", hard.GetProperty("gumbel").GetString());
        // Not a resume of the soft search's steps: a different run, and a one-hot forward pass gives other trace norms.
        Assert.NotEqual(soft.GetProperty("run_id").GetInt64(), hard.GetProperty("run_id").GetInt64());
        Assert.False(hard.GetProperty("resumed").GetBoolean());
        Assert.NotEqual(soft.GetProperty("trace_norm").GetProperty("mean").GetDouble(), hard.GetProperty("trace_norm").GetProperty("mean").GetDouble());
        Nb201Genotype.Parse(hard.GetProperty("arch").GetString()!);

        // The search command's --parameterization defaults to ntk for the eigen strategy; NASI keeps its own default
        // unless it is given.
        Assert.Equal("standard", soft.GetProperty("parameterization").GetString());
        var ntk = cli.Json(["search", "--space", "nb201", .. Tiny, "--parameterization", "ntk"]);
        Assert.Equal("ntk", ntk.GetProperty("parameterization").GetString());
        Assert.NotEqual(soft.GetProperty("run_id").GetInt64(), ntk.GetProperty("run_id").GetInt64());
    }

    [Fact]
    public void DartsSearchDerivesAGenotypeOfTheDartsSpace()
    {
        using var cli = new CliHarness();
        var j = cli.Json(["search", "--space", "darts", .. Tiny[..^4], "--cells", "3", "--seed", "4"]);
        var genotype = DartsGenotype.Parse(j.GetProperty("arch").GetString()!);
        Assert.Equal(2, j.GetProperty("alpha").GetArrayLength());
        Assert.Equal(JsonNull, j.GetProperty("nb201").ValueKind);
        Assert.Equal(JsonNull, j.GetProperty("arch_argmax").ValueKind);   // DARTS' own derivation has no such variant
        Assert.Equal(genotype.Canonical, DartsGenotype.Parse(genotype.Canonical).Canonical);
    }

    private const System.Text.Json.JsonValueKind JsonNull = System.Text.Json.JsonValueKind.Null;

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
        (code, _, err) = cli.Run(["search", "--space", "mlp", .. Tiny]);
        Assert.Equal(2, code);
        Assert.Contains("nb201 and darts", err);
        // The comparison takes NASI's temperature too, checked before any data is loaded.
        (code, _, err) = cli.Run("bench", "search", "--tau", "0");
        Assert.Equal(2, code);
        Assert.Contains("τ must be positive", err);
    }
}
