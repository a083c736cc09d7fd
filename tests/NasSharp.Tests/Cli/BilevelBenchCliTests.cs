using Xunit;

namespace NasSharp.Tests.Cli;

[Collection(TorchCollection.Name)]
public class BilevelBenchCliTests
{
    [Fact]
    public void TheMklBenchmarkTimesTheSameSearchAsNasSearch()
    {
        using var cli = new CliHarness();
        string[] data = ["--dataset", "iris", "--train-size", "80", "--val-size", "30", "--train-points", "40", "--val-points", "20", "--steps", "5", "--depth", "1", "--seed", "2", "--threads", "1"];
        var bench = cli.Json(["bench", "mkl", .. data]);
        var search = cli.Json(["search", "--space", "mlp", "--no-skips", "--activations", "relu,tanh,gelu,sigmoid", "--strategy", "mkl", .. data]);
        Assert.Equal(search.GetProperty("arch").GetString(), bench.GetProperty("arch").GetString());
        Assert.Equal(4, bench.GetProperty("candidates").GetInt32());
        Assert.Equal(60, bench.GetProperty("points").GetInt32());
        // The search's seconds are its kernels' and its steps' (measured apart), and the verdict is the comparison with the target.
        double seconds = bench.GetProperty("search_seconds").GetDouble();
        Assert.Equal(seconds, bench.GetProperty("kernel_seconds").GetDouble() + bench.GetProperty("step_seconds").GetDouble(), 1e-9);
        Assert.Equal(seconds < 10, bench.GetProperty("under_target").GetBoolean());
    }

    [Theory]
    [InlineData("bench activations --val-points 0")]
    [InlineData("bench activations --datasets nope")]
    [InlineData("bench activations --activations relu,nope")]
    [InlineData("bench activations --depth 0")]
    [InlineData("bench mkl --target 0 --dataset iris --train-size 80 --val-size 30 --train-points 10 --val-points 5")]
    public void BadInputIsOneLineAndExitCodeTwo(string args)
    {
        using var cli = new CliHarness();
        cli.AssertUsageError(args);
    }
}
