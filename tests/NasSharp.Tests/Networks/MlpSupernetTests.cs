using NasSharp.Networks;
using NasSharp.Spaces;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Networks;

[Collection(TorchCollection.Name)]
public class MlpSupernetTests
{
    private static readonly NetworkOptions Float64 = new() { DType = ScalarType.Float64 };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WithOneHotWeightsTheSupernetIsTheDerivedNetwork(bool shared)
    {
        using var scope = NewDisposeScope();
        var space = new MlpSpace(depth: 3, width: 16, choices: [Activation.Relu, Activation.Tanh, Activation.Gelu], relaxedSkips: MlpSkipPattern.Residual, sharedAlpha: shared);
        var relaxation = (MlpRelaxation)space.Relaxation;
        using var supernet = relaxation.BuildSupernet([5], 3, Float64, seed: 4);
        var logits = new double[shared ? 1 : 3, 3];
        int[] picks = shared ? [2] : [1, 2, 0];
        for (int row = 0; row < picks.Length; row++) logits[row, picks[row]] = 1;
        supernet.SetMixingWeights([tensor(logits, dtype: ScalarType.Float64)]);
        var derived = (MlpGenotype)relaxation.Derive([logits]);
        Assert.Equal(shared ? "w16/gelu-gelu+1-gelu+2" : "w16/tanh-gelu+1-relu+2", derived.Canonical);

        // The reference: the derived genotype's own network, built from the same seed (its weights do not depend on its activations).
        using var network = space.BuildNetwork(derived, [5], 3, Float64, seed: 4);
        var x = randn(new long[] { 7, 5 }, dtype: ScalarType.Float64);
        double gap = (supernet.call(x) - network.call(x)).abs().max().item<double>();
        Assert.True(gap < 1e-12, $"supernet and derived network differ by {gap}");
    }

    [Fact]
    public void AMixtureIsTheWeightedSumOfTheActivationsAtEveryLayer()
    {
        using var scope = NewDisposeScope();
        // One hidden layer: f = W₂ (Σ_i w_i σ_i(W₁x + b₁)) + b₂ is affine in the weights, so mixing two one-hot networks
        // with weights (t, 1−t) mixes their outputs the same way (the readout's bias counts once).
        var space = new MlpSpace(depth: 1, width: 8, choices: [Activation.Relu, Activation.Sigmoid]);
        using var supernet = ((MlpRelaxation)space.Relaxation).BuildSupernet([4], 2, Float64, seed: 9);
        var x = randn(new long[] { 5, 4 }, dtype: ScalarType.Float64);
        Tensor Out(double a, double b)
        {
            supernet.SetMixingWeights([tensor(new double[,] { { a, b } }, dtype: ScalarType.Float64)]);
            return supernet.call(x);
        }
        var mixed = Out(0.3, 0.7);
        var expected = 0.3 * Out(1, 0) + 0.7 * Out(0, 1);
        Assert.True((mixed - expected).abs().max().item<double>() < 1e-12);
    }

    [Fact]
    public void WeightsOfTheWrongShapeAreRefused()
    {
        using var scope = NewDisposeScope();
        var space = new MlpSpace(depth: 2, width: 4, choices: [Activation.Relu, Activation.Tanh]);
        using var supernet = ((MlpRelaxation)space.Relaxation).BuildSupernet([3], 2, Float64, seed: 1);
        var e = Assert.Throws<ArgumentException>(() => supernet.SetMixingWeights([ones(1, 2, dtype: ScalarType.Float64)]));
        Assert.Contains("[2, 2]", e.Message);
    }
}
