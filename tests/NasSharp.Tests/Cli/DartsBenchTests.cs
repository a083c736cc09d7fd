using System.Text.Json;
using NasSharp.Spaces;
using Xunit;

namespace NasSharp.Tests.Cli;

[Collection(TorchCollection.Name)]
public class DartsBenchTests
{
    private static string[] Tiny(int random, int trainCells = 1) =>
        ["bench", "darts", "--steps", "1", "--batch", "4", "--channels", "4", "--cells", "1", "--random", random.ToString(),
         "--train-channels", "4", "--train-cells", trainCells.ToString(), "--epochs", "1", "--batch-size", "50",
         "--train-size", "200", "--val-size", "100", "--test-size", "200", "--seed", "5"];

    private static (string Arch, double? Test) Row(JsonElement e) =>
        (e.GetProperty("arch").GetString()!, e.GetProperty("test_accuracy_percent").ValueKind == JsonValueKind.Null ? null : e.GetProperty("test_accuracy_percent").GetDouble());

    [Fact]
    public void TheFoundGenotypeAndRandomOnesAreTrainedAlikeAndSummarisedHonestly()
    {
        using var cli = new CliHarness();
        var j = cli.Json(Tiny(2));
        var found = DartsGenotype.Parse(j.GetProperty("arch").GetString()!);
        var trained = j.GetProperty("trained").EnumerateArray().ToList();
        Assert.Equal(3, trained.Count);
        Assert.Equal("found", trained[0].GetProperty("role").GetString());
        Assert.Equal(found.Canonical, trained[0].GetProperty("arch").GetString());
        Assert.All(trained.Skip(1), t => Assert.Equal("random", t.GetProperty("role").GetString()));
        Assert.Equal(3, trained.Select(t => t.GetProperty("arch").GetString()).Distinct().Count());

        // Mean, sample std and rank recomputed here from the rows.
        var random = trained.Skip(1).Select(t => Row(t).Test!.Value).ToArray();
        double mean = random.Average();
        Assert.Equal(mean, j.GetProperty("random_test_accuracy_percent_mean").GetDouble(), 1e-12);
        Assert.Equal(Math.Sqrt(random.Sum(v => (v - mean) * (v - mean)) / (random.Length - 1)), j.GetProperty("random_test_accuracy_percent_std").GetDouble(), 1e-12);
        Assert.Equal(1 + random.Count(v => v > Row(trained[0]).Test!.Value), j.GetProperty("found_rank").GetInt32());

        // Each genotype's training is seeded by its canonical string: asking for one more random genotype changes nothing
        // for the others (a fresh store, so nothing is reused).
        using var other = new CliHarness();
        var k = other.Json(Tiny(3));
        var more = k.GetProperty("trained").EnumerateArray().Select(Row).ToList();
        Assert.Equal(4, more.Count);
        Assert.Equal(trained.Select(Row).ToList(), more.Take(3).ToList());
    }

    [Fact]
    public void BadSizesAreUsageErrors()
    {
        using var cli = new CliHarness();
        var (code, _, err) = cli.Run([.. Tiny(0)]);
        Assert.Equal(2, code);
        Assert.Contains("--random", err);
        (code, _, err) = cli.Run(Tiny(1, trainCells: 0));
        Assert.Equal(2, code);
        Assert.Contains("cell", err);
    }
}
