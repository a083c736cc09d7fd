using NasSharp.Networks;
using NasSharp.Proxies;
using NasSharp.Spaces;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Proxies;

/// <summary>A chain of stage modules, each given to the network whole.</summary>
internal sealed class StagedNet : nn.Module<Tensor, Tensor>, IStagedNetwork
{
    private readonly TorchSharp.Modules.ModuleList<nn.Module<Tensor, Tensor>> stages;

    public StagedNet(params nn.Module<Tensor, Tensor>[] stages) : base(nameof(StagedNet))
    {
        this.stages = new TorchSharp.Modules.ModuleList<nn.Module<Tensor, Tensor>>(stages);
        RegisterComponents();
    }

    public IReadOnlyList<nn.Module<Tensor, Tensor>> Stages => [.. stages];

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        foreach (var s in stages) x = s.call(x);
        return x.flatten(1).MoveToOuterDisposeScope();
    }
}

/// <summary>A stage whose output is a planted tensor (kept in the graph of its input through a zero term).</summary>
internal sealed class PlantedStage(Tensor planted) : nn.Module<Tensor, Tensor>(nameof(PlantedStage))
{
    private readonly Tensor planted = planted.DetachFromDisposeScope();

    public override Tensor forward(Tensor x)
    {
        if (x.shape[0] != planted.shape[0]) throw new ArgumentException($"planted for a batch of {planted.shape[0]}, got {x.shape[0]}");
        return planted + 0 * x.sum();
    }
}

/// <summary>x·1: the identity, as a new tensor.</summary>
internal sealed class TimesOne() : nn.Module<Tensor, Tensor>(nameof(TimesOne))
{
    public override Tensor forward(Tensor x) => x * 1.0;
}

/// <summary>
/// AZ-NAS's components against closed forms: planted stage features with diagonal covariances (entropies written out),
/// and stages that are 1×1 convolutions to one channel, where a ±1 signal's second moment is exactly 1 so the estimated
/// Jacobian is the weight vector and σ_max its norm.
/// </summary>
[Collection(TorchCollection.Name)]
public class AzNasProxyTests
{
    private const int Batch = 2;

    /// <summary>[2, C, 2, 2] with channel c = scale[c] · pattern[c] over the 8 positions (batch, row, column).</summary>
    private static Tensor Planted(params double[] scales)
    {
        // Three zero-mean, mutually orthogonal ±1 patterns over 8 positions: the covariance is diag(scale²).
        double[][] patterns = [[1, -1, 1, -1, 1, -1, 1, -1], [1, 1, -1, -1, 1, 1, -1, -1], [1, 1, 1, 1, -1, -1, -1, -1]];
        var values = new double[Batch * scales.Length * 4];
        for (int b = 0; b < Batch; b++)
            for (int c = 0; c < scales.Length; c++)
                for (int q = 0; q < 4; q++) values[((b * scales.Length) + c) * 4 + q] = scales[c] * patterns[c][b * 4 + q];
        return tensor(values, new long[] { Batch, scales.Length, 2, 2 }, ScalarType.Float64);
    }

    private static double Entropy(params double[] variances)
    {
        double total = variances.Sum();
        return -variances.Sum(v => v / total * Math.Log(v / total));
    }

    private static ProxyContext PlantedContext()
    {
        Func<nn.Module<Tensor, Tensor>> build = () => new StagedNet(
            new PlantedStage(Planted(1, 2)), new PlantedStage(Planted(1, 1, 2)), new PlantedStage(Planted(1, 1, 1)));
        return ProxyNets.Context(build, randn(Batch, 3, 2, 2, dtype: ScalarType.Float64), null, 12);
    }

    [Fact]
    public void ExpressivityIsTheSumOfCovarianceEigenvalueEntropiesOverStages()
    {
        using var scope = NewDisposeScope();
        using var context = PlantedContext();
        // Eigenvalues (1, 4), (1, 1, 4) and (1, 1, 1): the last is ln 3.
        double expected = Entropy(1, 4) + Entropy(1, 1, 4) + Math.Log(3);
        var score = new AzExpressivityProxy().Score(context);
        Assert.True(Math.Abs(score.Value - expected) <= 1e-12, $"expected {expected:R}, got {score}");
    }

    [Fact]
    public void ProgressivityIsTheSmallestEntropyIncreaseBetweenConsecutiveStages()
    {
        using var scope = NewDisposeScope();
        using var context = PlantedContext();
        double h0 = Entropy(1, 4), h1 = Entropy(1, 1, 4), h2 = Math.Log(3);
        double expected = Math.Min(h1 - h0, h2 - h1);
        var score = new AzProgressivityProxy().Score(context);
        Assert.True(Math.Abs(score.Value - expected) <= 1e-12, $"expected {expected:R}, got {score}");
        // Both proxies read one pass of the network.
        new AzExpressivityProxy().Score(context);
        Assert.Single(context.Stages, s => s.Name.StartsWith("az-nas stages", StringComparison.Ordinal));
    }

    [Fact]
    public void ConstantStageFeaturesMakeExpressivityNonFiniteWithTheStageNamed()
    {
        using var scope = NewDisposeScope();
        Func<nn.Module<Tensor, Tensor>> build = () => new StagedNet(
            new PlantedStage(Planted(1, 2)), new PlantedStage(full(new long[] { Batch, 2, 2, 2 }, 0.5, dtype: ScalarType.Float64)));
        using var context = ProxyNets.Context(build, randn(Batch, 3, 2, 2, dtype: ScalarType.Float64), null, 8);
        var score = new AzExpressivityProxy().Score(context);
        Assert.Equal(ProxyStatus.NonFinite, score.Status);
        Assert.Contains("stage 1", score.Reason);
    }

    private static nn.Module<Tensor, Tensor> Conv1x1(int cin, int cout, double[] weights, int stride = 1)
    {
        var conv = nn.Conv2d(cin, cout, 1, stride: stride, bias: false).to(ScalarType.Float64);
        using (no_grad()) conv.weight.copy_(tensor(weights, new long[] { cout, cin, 1, 1 }, ScalarType.Float64));
        return conv;
    }

    [Fact]
    public void TrainabilityIsTheMeanOfTwoMinusSigmaMinusItsInverseOverStagePairs()
    {
        using var scope = NewDisposeScope();
        Func<nn.Module<Tensor, Tensor>> build = () =>
        {
            random.manual_seed(3);
            return new StagedNet(
                nn.Conv2d(3, 2, 1, bias: false).to(ScalarType.Float64),
                Conv1x1(2, 1, [3, 4]),            // M = (3, 4)ᵀ: σ_max = 5
                Conv1x1(1, 1, [0.5], stride: 2)); // stride 2, input signal unshuffled: M = (0.5, 0, 0, 0)ᵀ, σ_max = 0.5
        };
        using var context = ProxyNets.Context(build, randn(Batch, 3, 4, 4, dtype: ScalarType.Float64), null, 4);
        double expected = ((2 - 5 - 1 / 5.0) + (2 - 0.5 - 1 / 0.5)) / 2;
        var score = new AzTrainabilityProxy().Score(context);
        Assert.True(Math.Abs(score.Value - expected) <= 1e-12, $"expected {expected:R}, got {score}");
    }

    [Fact]
    public void AnIdentityStageOrAStageThatIgnoresItsInputScoresMinusInfinityWithItsReason()
    {
        using var scope = NewDisposeScope();
        var x = randn(Batch, 3, 2, 2, dtype: ScalarType.Float64);
        var identity = ProxyNets.ScoreAlone(new AzTrainabilityProxy(), () =>
        {
            random.manual_seed(3);
            return new StagedNet(nn.Conv2d(3, 2, 1).to(ScalarType.Float64), new TimesOne());
        }, x, null, 8);
        Assert.Equal(double.NegativeInfinity, identity.Value);
        Assert.Contains("identity", identity.Reason);

        var ignores = ProxyNets.ScoreAlone(new AzTrainabilityProxy(), () =>
        {
            random.manual_seed(3);
            return new StagedNet(nn.Conv2d(3, 2, 1).to(ScalarType.Float64), new PlantedStage(Planted(1, 2)));
        }, x, null, 8);
        Assert.Equal(double.NegativeInfinity, ignores.Value);
        Assert.Contains("does not depend on its input", ignores.Reason);
    }

    [Fact]
    public void Nb201NetworksAreStagedAsTheStemAndEveryBlockAndScoreFinitely()
    {
        using var scope = NewDisposeScope();
        var options = new Nb201NetworkOptions { Channels = 4, CellsPerStage = 1 };
        var space = new Nb201Space(network: options);
        var cell = Nb201Genotype.Parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|");
        Func<nn.Module<Tensor, Tensor>> build = () => space.BuildNetwork(cell, [3, 8, 8], 10, new NetworkOptions(), seed: 5);
        using (var net = build()) Assert.Equal(1 + 3 * 1 + 2, ((IStagedNetwork)net).Stages.Count);
        var evaluation = new ProxyEvaluator(ProxyRegistry.Parse("az_expressivity,az_progressivity,az_trainability"))
            .Evaluate(build, randn(4, 3, 8, 8), null, 10, seed: 1);
        Assert.All(evaluation.Results, r => Assert.True(r.Score.IsFinite, $"{r.Name}: {r.Score}"));
        Assert.Single(evaluation.SharedStages, s => s.Name.StartsWith("az-nas stages", StringComparison.Ordinal));
        // A cell whose output is always zero: stage 1's features are constant.
        var none = Nb201Genotype.Parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|");
        using var deadContext = ProxyNets.Context(() => space.BuildNetwork(none, [3, 8, 8], 10, new NetworkOptions(), seed: 5), randn(4, 3, 8, 8), null, 10);
        var dead = new AzExpressivityProxy().Score(deadContext);
        Assert.Equal(ProxyStatus.NonFinite, dead.Status);
        Assert.Contains("stage 1", dead.Reason);
    }

    [Fact]
    public void AProxyWithoutStagesIsNotApplicable()
    {
        using var scope = NewDisposeScope();
        var score = ProxyNets.ScoreAlone(new AzExpressivityProxy(),
            () => nn.Sequential(nn.Conv2d(3, 2, 3), nn.Flatten(), nn.Linear(2 * 6 * 6, 3)).to(ScalarType.Float64), ProxyNets.Images(2, 4), null, 3);
        Assert.Equal(ProxyStatus.NotApplicable, score.Status);
        Assert.Contains("IStagedNetwork", score.Reason);
    }
}
