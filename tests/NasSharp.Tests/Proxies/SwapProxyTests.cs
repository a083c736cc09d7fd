using NasSharp.Proxies;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Proxies;

/// <summary>swap and swap_reg against activation patterns planted in front of ReLUs and counted by hand.</summary>
[Collection(TorchCollection.Name)]
public class SwapProxyTests
{
    /// <summary>
    /// Pre-activations of 4 samples (rows) × 6 units: sign patterns (1 where positive) per unit (column) are
    /// 1100, 1100, 0000, 0000 (zeros: ReLU(0) = 0 counts as inactive), 1010, 1111: four distinct.
    /// </summary>
    private static readonly double[,] First =
    {
        { 2, 1, -1, 0, 3, 1 },
        { 1, 5, -2, 0, -1, 2 },
        { -1, -3, -1, 0, 4, 3 },
        { -2, -1, -5, 0, -2, 1 },
    };

    /// <summary>A second ReLU's units: 0000 and 1100 repeat the first's, 0110 and 0001 are new (six distinct in all).</summary>
    private static readonly double[,] Second =
    {
        { -1, 1, -1, -1 },
        { -1, 1, 1, -1 },
        { -2, -1, 1, -1 },
        { -1, -1, -1, 1 },
    };

    private static Tensor AsMaps(double[,] values) =>
        tensor(values.Cast<double>().ToArray(), new long[] { values.GetLength(0), values.GetLength(1), 1, 1 }, ScalarType.Float64);

    private static Func<nn.Module<Tensor, Tensor>> Build(bool both) => () =>
    {
        random.manual_seed(2);
        var layers = new List<(string, nn.Module<Tensor, Tensor>)> { ("first", new PlantedStage(AsMaps(First))), ("relu1", nn.ReLU()) };
        if (both) layers.AddRange([("second", new PlantedStage(AsMaps(Second))), ("relu2", nn.ReLU())]);
        layers.AddRange([("flatten", nn.Flatten()), ("classifier", nn.Linear(both ? 4 : 6, 3))]);
        return nn.Sequential(layers.ToArray()).to(ScalarType.Float64);
    };

    [Fact]
    public void SwapCountsDistinctSignPatternsOfEveryReluUnitOverTheBatch()
    {
        using var scope = NewDisposeScope();
        var x = randn(4, 3, 1, 1, dtype: ScalarType.Float64);
        Assert.Equal(4, ProxyNets.ScoreAlone(new SwapProxy(), Build(both: false), x, null, 3).Value);
        Assert.Equal(6, ProxyNets.ScoreAlone(new SwapProxy(), Build(both: true), x, null, 3).Value);
    }

    [Fact]
    public void SwapUsesTheFirstSixteenSamplesOfALargerBatch()
    {
        using var scope = NewDisposeScope();
        // Sixteen planted samples: unit u < 4 is active on sample n iff bit u of n is set (four different patterns), and
        // unit 4 repeats unit 0. The planted stage refuses any other batch size than 16.
        var planted = new double[16, 5];
        for (int n = 0; n < 16; n++)
        {
            for (int u = 0; u < 4; u++) planted[n, u] = ((n >> u) & 1) == 1 ? 1 : -1;
            planted[n, 4] = planted[n, 0];
        }
        Func<nn.Module<Tensor, Tensor>> build = () => nn.Sequential(new PlantedStage(AsMaps(planted)), nn.ReLU(), nn.Flatten(), nn.Linear(5, 2)).to(ScalarType.Float64);
        using var context = ProxyNets.Context(build, randn(20, 1, 1, 1, dtype: ScalarType.Float64), null, 2);
        Assert.Equal(4, new SwapProxy().Score(context).Value);
        var patterns = context.ActivationPatterns();
        Assert.Equal((16, 5L), (patterns.Batch, patterns.Units));
    }

    [Fact]
    public void RegularisedSwapMultipliesByAGaussianOfTheParameterCountInMillions()
    {
        using var scope = NewDisposeScope();
        var x = randn(4, 3, 1, 1, dtype: ScalarType.Float64);
        // The classifier Linear(6, 3) has 21 parameters; with μ = Θ + 10⁻⁵ and σ = 10⁻¹⁰ the factor is e⁻¹.
        const double theta = 21e-6;
        var score = ProxyNets.ScoreAlone(new SwapRegularisedProxy(mu: theta + 1e-5, sigma: 1e-10), Build(both: false), x, null, 3);
        Assert.True(Math.Abs(score.Value - 4 * Math.Exp(-1)) <= 1e-9, $"expected {4 * Math.Exp(-1):R}, got {score}");
    }

    [Fact]
    public void SwapIsNotApplicableWithoutReluUnits()
    {
        using var scope = NewDisposeScope();
        var score = ProxyNets.ScoreAlone(new SwapProxy(),
            () => nn.Sequential(nn.Flatten(), nn.Linear(3, 2)).to(ScalarType.Float64), randn(4, 3, 1, 1, dtype: ScalarType.Float64), null, 2);
        Assert.Equal(ProxyStatus.NotApplicable, score.Status);
    }
}
