using NasSharp.Networks;
using NasSharp.Search.Nasi;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Search.Nasi;

/// <summary>The anatomy of NASI's trace norm against central differences of it and against <see cref="TraceNorm.Approximation"/> at each vertex.</summary>
[Collection(TorchCollection.Name)]
public class TraceNormAnatomyTests
{
    private static (Nb201Supernet Supernet, Tensor X, Tensor Y) Fixture(long seed)
    {
        random.manual_seed(seed);
        var supernet = new Nb201Supernet(3, 4, new Nb201NetworkOptions { Channels = 4, CellsPerStage = 1, Affine = false, TrackRunningStats = false }, dtype: ScalarType.Float64);
        supernet.train();
        return (supernet, randn(new long[] { 6, 3, 8, 8 }, dtype: ScalarType.Float64), tensor(new long[] { 0, 1, 2, 3, 0, 1 }));
    }

    private static double Trace(Nb201Supernet supernet, Tensor weights, Tensor x, Tensor y)
    {
        using var scope = NewDisposeScope();
        supernet.SetMixingWeights([weights]);
        return TraceNorm.Approximation(supernet, x, y, createGraph: false).item<double>();
    }

    [Fact]
    public void EachOperationsGradientIsTheCentralDifferenceAlongItsLogitsAveragedOverEdges()
    {
        using var scope = NewDisposeScope();
        var (supernet, x, y) = Fixture(41);
        using var _ = supernet;
        var anatomy = TraceNormAnatomy.Measure(supernet, x, y);
        var group = Assert.Single(anatomy.Groups);
        Assert.Equal(Nb201Supernet.CellGroup.Operations, group.Operations.Select(o => o.Operation));
        // Moving operation o's logit by h on every edge from α = 0, through the softmax: dT/dh / edges is the mean over edges.
        const double h = 1e-5;
        for (int o = 0; o < 5; o++)
        {
            var shift = zeros(6, 5, dtype: ScalarType.Float64);
            shift[TensorIndex.Colon, o] = full(6, h, dtype: ScalarType.Float64);
            double difference = (Trace(supernet, softmax(shift, 1), x, y) - Trace(supernet, softmax(-shift, 1), x, y)) / (2 * h) / 6;
            Assert.Equal(difference, group.Operations[o].AlphaGradient, Math.Max(1e-6 * Math.Abs(difference), 1e-9));
        }
        // The five gradients sum to zero: adding the same to every logit of an edge leaves the softmax unchanged.
        Assert.Equal(0.0, group.Operations.Sum(o => o.AlphaGradient), 1e-9);
    }

    [Fact]
    public void EachVertexIsItsTraceNormOverTheUniformOneWithTheClassifiersShare()
    {
        using var scope = NewDisposeScope();
        var (supernet, x, y) = Fixture(42);
        using var _ = supernet;
        var anatomy = TraceNormAnatomy.Measure(supernet, x, y);
        double uniform = Trace(supernet, full(6, 5, 0.2, dtype: ScalarType.Float64), x, y);
        Assert.Equal(uniform, anatomy.UniformTraceNorm, 1e-12 * uniform);
        var classifier = supernet.modules().OfType<Linear>().Last();
        for (int o = 0; o < 5; o++)
        {
            var vertex = zeros(6, 5, dtype: ScalarType.Float64);
            vertex[TensorIndex.Colon, o] = ones(6, dtype: ScalarType.Float64);
            double trace = Trace(supernet, vertex, x, y);
            var effect = anatomy.Groups[0].Operations[o];
            Assert.Equal(trace / uniform, effect.VertexTraceRatio, 1e-10 * trace / uniform);

            // The classifier's share, from its own gradients.
            supernet.SetMixingWeights([vertex]);
            using var grad = enable_grad();
            var logits = supernet.call(x);
            var g = autograd.grad([nn.functional.cross_entropy(logits, y)], [.. classifier.parameters().Cast<Tensor>()]);
            double head = g.Sum(t => t.pow(2).sum().item<double>());
            Assert.Equal(head / trace, Assert.NotNull(effect.VertexClassifierShare), 1e-10);
            Assert.Equal(logits.pow(2).mean().item<double>(), effect.VertexLogitMeanSquare, 1e-12);
        }
    }

    [Fact]
    public void InTheNtkParameterisationEveryTraceNormWeightsEachGradientByItsFactor()
    {
        // Reference: TraceNorm.Approximation with the supernet's factors σ_w²/fan_in (NtkReparameterization), which the
        // nasi strategy maximises; without them T would be the standard parameterisation's.
        using var scope = NewDisposeScope();
        var (supernet, x, y) = Fixture(43);
        using var _ = supernet;
        supernet.UseNtkParameterization();
        var anatomy = TraceNormAnatomy.Measure(supernet, x, y);
        supernet.SetMixingWeights([full(6, 5, 0.2, dtype: ScalarType.Float64)]);
        double weighted = TraceNorm.Approximation(supernet, x, y, createGraph: false, supernet.GradientFactors).item<double>();
        double unweighted = TraceNorm.Approximation(supernet, x, y, createGraph: false).item<double>();
        Assert.Equal(weighted, anatomy.UniformTraceNorm, 1e-12 * weighted);
        Assert.True(Math.Abs(unweighted - weighted) > 0.1 * weighted, $"the factors should matter: {unweighted} against {weighted}");
    }
}
