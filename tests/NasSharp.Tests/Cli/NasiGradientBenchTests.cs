using Xunit;

namespace NasSharp.Tests.Cli;

[Collection(TorchCollection.Name)]
public class NasiGradientBenchTests
{
    private static readonly string[] Tiny = ["--dataset", "cifar10", "--batch", "4", "--channels", "4", "--cells", "1", "--data", "gaussian", "--labels", "random", "--seed", "5"];

    [Fact]
    public void TheBenchTimesTheStepsASearchTakesOnEitherPath()
    {
        // The independent reference: `nas search --strategy nasi` with the same seed, which builds the same supernet and draws
        // the same batches and Gumbel noise; its stored step 2 must be the bench's timed step 2 on each path.
        using var cli = new CliHarness();
        var bench = cli.Json(["bench", "nasi-gradient", "--steps", "1", "--warmup", "1", .. Tiny]);
        Assert.Equal(["finite-difference", "exact", "forward-backward"], bench.GetProperty("paths").EnumerateArray().Select(p => p.GetProperty("path").GetString()));
        var agreement = bench.GetProperty("agreement")[0];
        Assert.Equal(2, agreement.GetProperty("step").GetInt32());
        foreach (var (path, norm) in new[] { ("exact", "exact_norm"), ("finite-difference", "finite_difference_norm") })
        {
            var search = cli.Json(["search", "--space", "nb201", "--strategy", "nasi", "--steps", "2", "--alpha-gradient", path, .. Tiny]);
            var step = search.GetProperty("steps")[1];
            // The bench reports the exact path's trace norm (summed in float32); the finite-difference path sums it in float64.
            double trace = agreement.GetProperty("trace_norm").GetDouble();
            Assert.Equal(step.GetProperty("trace_norm").GetDouble(), trace, path == "exact" ? 0 : 1e-6 * trace);
            Assert.Equal(step.GetProperty("gradient_norm").GetDouble(), agreement.GetProperty(norm).GetDouble());
        }
        var seconds = bench.GetProperty("paths").EnumerateArray().Select(p => p.GetProperty("seconds_per_step").GetDouble()).ToArray();
        Assert.Equal(seconds[0] / seconds[1], bench.GetProperty("time_ratio").GetDouble(), 1e-12);
        // Each path's time in floors: its seconds over the forward + backward pass's.
        Assert.Equal(seconds[0] / seconds[2], bench.GetProperty("finite_difference_floors").GetDouble(), 1e-12);
        Assert.Equal(seconds[1] / seconds[2], bench.GetProperty("exact_floors").GetDouble(), 1e-12);
    }

    [Fact]
    public void AnUnknownAlphaGradientIsOneLineAndNoRun()
    {
        using var cli = new CliHarness();
        var (code, _, error) = cli.Run(["search", "--space", "nb201", "--strategy", "nasi", "--alpha-gradient", "fd", .. Tiny]);
        Assert.NotEqual(0, code);
        Assert.Contains("--alpha-gradient fd: use exact, finite-difference", error);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-0.01")]
    public void AFiniteDifferenceStepThatIsNotPositiveIsOneLineAndNoRun(string step)
    {
        using var cli = new CliHarness();
        var (code, _, error) = cli.Run(["search", "--space", "nb201", "--strategy", "nasi", "--alpha-gradient", "finite-difference", "--fd-step", step, .. Tiny]);
        Assert.NotEqual(0, code);
        Assert.Contains($"--fd-step {step}: the step must be positive and finite.", error);
    }
}
