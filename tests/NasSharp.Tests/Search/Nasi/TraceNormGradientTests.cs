using NasSharp.Networks;
using NasSharp.Search.Nasi;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Search.Nasi;

/// <summary>The finite-difference α-gradient against the exact double backward (the independent reference).</summary>
[Collection(TorchCollection.Name)]
public class TraceNormGradientTests
{
    /// <summary>A tiny float64 NB201 supernet (C = 4, one cell per stage), a Gumbel draw, logits α away from 0, a batch of four.</summary>
    private static (Nb201Supernet Supernet, Tensor Alpha, Func<IReadOnlyList<Tensor>> Weights, Tensor X, Tensor Y) Fixture(long seed, double tau, bool hard)
    {
        random.manual_seed(seed);
        var supernet = new Nb201Supernet(3, 4, new Nb201NetworkOptions { Channels = 4, CellsPerStage = 1, Affine = false, TrackRunningStats = false }, dtype: ScalarType.Float64);
        supernet.train();
        using var generator = new Generator((ulong)seed + 1);
        var noise = GumbelSoftmax.Noise([6, 5], generator);
        var alpha = (0.3 * randn(new long[] { 6, 5 }, dtype: ScalarType.Float64)).requires_grad_(true);
        IReadOnlyList<Tensor> Weights() => [hard ? GumbelSoftmax.HardWeights(alpha, noise, tau) : GumbelSoftmax.Weights(alpha, noise, tau)];
        return (supernet, alpha, Weights, randn(new long[] { 4, 3, 8, 8 }, dtype: ScalarType.Float64), tensor(new long[] { 0, 1, 2, 3 }));
    }

    [Theory]
    [InlineData(31, 1.0, false, false)]
    [InlineData(32, 10.0, false, false)]
    [InlineData(33, 1.0, true, false)]    // straight-through: the forward pass is a discrete cell
    [InlineData(34, 1.0, false, true)]    // NTK parameterisation: the direction is f ⊙ g
    public void TheCentralDifferenceMatchesTheDoubleBackward(long seed, double tau, bool hard, bool ntk)
    {
        using var scope = NewDisposeScope();
        var (supernet, alpha, weights, x, y) = Fixture(seed, tau, hard);
        using var _ = supernet;
        if (ntk) supernet.UseNtkParameterization();
        var before = supernet.parameters().Select(p => p.detach().clone()).ToArray();

        var (exactTrace, exact) = TraceNormGradient.Compute(supernet, weights, [alpha], x, y, AlphaGradient.Exact);
        // A step short enough that no ReLU input of the tiny network changes sign (see TraceNormGradient.Step): the
        // difference quotient then differs from the double backward by O(ε²) only.
        var (fdTrace, fd) = TraceNormGradient.FiniteDifference(supernet, weights, [alpha], x, y, step: 1e-5);

        Assert.Equal(exactTrace, fdTrace, 1e-12 * exactTrace);
        double reference = exact[0].norm().item<double>();
        Assert.True(reference > 1e-8, "the exact gradient vanishes: nothing is compared");
        double relative = (fd[0] - exact[0]).norm().item<double>() / reference;
        Assert.True(relative <= 1e-3, $"relative error {relative:E3}");
        // The perturbed parameters are put back bit for bit.
        Assert.All(supernet.parameters().Zip(before), p => Assert.True(p.First.detach().eq(p.Second).all().item<bool>()));
    }

    [Theory]
    [InlineData(31, 1.0, false, false)]
    [InlineData(32, 10.0, false, false)]
    [InlineData(33, 1.0, true, false)]
    [InlineData(34, 1.0, false, true)]
    public void WithTheActivationPatternHeldTheErrorStaysSecondOrderAtStepsWhereReluInputsCrossZero(long seed, double tau, bool hard, bool ntk)
    {
        // At ‖εv‖ = 1e-2 and 1e-3 ReLU inputs of this network change sign between θ − εv and θ + εv: a plain difference
        // quotient's error is then dominated by the kinks (2.1 relative at 1e-2) and does not fall with the step. Held at
        // θ's pattern, the shifted passes are smooth in θ and the central difference errs by O(ε²): ten times the step,
        // about a hundred times the error.
        var (coarse, fine) = RelativeErrors(seed, tau, hard, ntk, 1e-2, 1e-3);
        Assert.InRange(coarse / fine, 70.0, 130.0);
        Assert.True(fine <= 5e-3, $"relative error {fine:E3} at ‖εv‖ = 1e-3");
    }

    [Fact]
    public void TheErrorIsSecondOrderInTheStep()
    {
        // Below the first ReLU kink a central difference errs by O(ε²): a step ten times longer errs about a hundred times
        // more. A one-sided difference (O(ε)) would give about 10, a wrong factor or direction about 1.
        var (large, small) = RelativeErrors(31, 1.0, false, false, 1e-4, 1e-5);
        Assert.InRange(large / small, 70.0, 130.0);
    }

    /// <summary>The finite-difference path's relative error against the double backward at two steps ‖εv‖ on one fixture.</summary>
    private static (double First, double Second) RelativeErrors(long seed, double tau, bool hard, bool ntk, double first, double second)
    {
        using var scope = NewDisposeScope();
        var (supernet, alpha, weights, x, y) = Fixture(seed, tau, hard);
        using var _ = supernet;
        if (ntk) supernet.UseNtkParameterization();
        var exact = TraceNormGradient.Compute(supernet, weights, [alpha], x, y, AlphaGradient.Exact).Gradient[0];
        double Error(double step)
        {
            var fd = TraceNormGradient.FiniteDifference(supernet, weights, [alpha], x, y, step).Gradient[0];
            return (fd - exact).norm().item<double>() / exact.norm().item<double>();
        }
        return (Error(first), Error(second));
    }
}
