using NasSharp.Spaces;
using Xunit;

namespace NasSharp.Tests.Cli;

/// <summary>The <c>mobilenet</c> space through commands that know nothing of it: space, search (random, proxy) and train.</summary>
[Collection(TorchCollection.Name)]
public class MobileNetCliTests
{
    // The smallest skeleton, one layer per stage at width 0.5 (stem 8; stages 8, 16, 16, 32, 48, 80): skip fits at layer 1 only.
    private static readonly string[] Small = ["--space", "mobilenet", "--layers", "1,1,1,1,1,1", "--width-multiplier", "0.5"];

    private static readonly string[] TinyCifar = ["--dataset", "cifar10", "--train-size", "64", "--val-size", "32", "--test-size", "32"];

    [Fact]
    public void SpaceCommandsCountAndSampleIt()
    {
        using var cli = new CliHarness();
        var count = cli.Json("space", "count", "--space", "mobilenet");
        Assert.Equal("130691232", count.GetProperty("count").GetRawText());
        Assert.Equal("1,2,2,2,2,1", count.GetProperty("settings").GetProperty("layers").GetString());

        var a = cli.Run(["space", "sample", .. Small, "--n", "3", "--seed", "4"]);
        Assert.Equal(0, a.Code);
        Assert.Equal(a.Out, cli.Run(["space", "sample", .. Small, "--n", "3", "--seed", "4"]).Out);
        var space = SpaceRegistry.Default.Create("mobilenet", new Settings([new("layers", "1,1,1,1,1,1"), new("width-multiplier", "0.5")]));
        var lines = a.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.All(lines, l => Assert.Equal(l, space.Parse(l).Canonical));
    }

    [Theory]
    [InlineData("random")]
    [InlineData("proxy")]
    public void SearchSelectsAGenotypeOfTheSpace(string strategy)
    {
        using var cli = new CliHarness();
        string[] own = strategy == "proxy" ? ["--proxy", "naswot", "--batch", "8", "--top-k", "1"] : [];
        var j = cli.Json(["search", .. Small, "--strategy", strategy, "--candidates", "2", .. own, .. TinyCifar, "--epochs", "1", "--batch-size", "32", "--seed", "3"]);
        Assert.Equal("mobilenet", j.GetProperty("space").GetString());
        var space = SpaceRegistry.Default.Create("mobilenet", new Settings([new("layers", "1,1,1,1,1,1"), new("width-multiplier", "0.5")]));
        var arch = j.GetProperty("arch").GetString()!;
        Assert.Equal(arch, space.Parse(arch).Canonical);
        Assert.Equal(2, j.GetProperty("ranked").GetArrayLength());
    }

    [Fact]
    public void TrainTrainsOneGenotypeAndRefusesOneThatDoesNotFit()
    {
        using var cli = new CliHarness();
        var j = cli.Json(["train", .. Small, "--arch", "skip-e3k3-e6k5-e3k3-e3k7-e6k3", .. TinyCifar, "--epochs", "1", "--batch-size", "32", "--seed", "1"]);
        Assert.Equal("skip-e3k3-e6k5-e3k3-e3k7-e6k3", j.GetProperty("arch").GetString());
        Assert.Equal(1, j.GetProperty("epochs").GetArrayLength());
        // Measured on the 32 test images: a whole number of them right.
        double correct = j.GetProperty("test_accuracy_percent").GetDouble() * 32 / 100;
        Assert.Equal(Math.Round(correct), correct, 9);

        var (code, _, err) = cli.Run(["train", .. Small, "--arch", "e3k3-skip-e6k5-e3k3-e3k7-e6k3", .. TinyCifar, "--epochs", "1"]);
        Assert.Equal(2, code);
        Assert.Contains("layer 2 is skip, but that layer", err);
    }
}
