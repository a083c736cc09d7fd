using NasSharp.Networks;
using NasSharp.Proxies;
using NasSharp.Spaces;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Proxies;

/// <summary>
/// Proxies whose computation was made cheaper give the scores of the formulation they replaced, kept here as the
/// reference path, on NB201 cells with fixed seeds: to 1e-6 relative, so no correlation changes.
/// </summary>
[Collection(TorchCollection.Name)]
public class OptimisedProxyTests
{
    private const double Tolerance = 1e-6;

    public static TheoryData<string> Cells => new()
    {
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|nor_conv_3x3~1|avg_pool_3x3~2|",
        "|skip_connect~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|none~0|skip_connect~1|nor_conv_1x1~2|",
    };

    private static (Func<nn.Module<Tensor, Tensor>> Build, Tensor X, Tensor Y) Setup(string cell, long seed)
    {
        var space = new Nb201Space(network: new Nb201NetworkOptions { Channels = 4, CellsPerStage = 1 });
        var arch = space.Parse(cell);
        random.manual_seed(seed);
        var x = randn(12, 3, 16, 16);
        var y = randint(0, 10, [12], dtype: ScalarType.Int64);
        return (() => space.BuildNetwork(arch, [3, 16, 16], 10, new NetworkOptions(), seed), x, y);
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public void GraspFromItsOwnBackwardEqualsGraspFromTheSharedPassGradient(string cell)
    {
        using var scope = NewDisposeScope();
        var (build, x, y) = Setup(cell, 3);
        var score = new ProxyEvaluator([new GraspProxy()]).Evaluate(build, x, y, 10, 3)["grasp"];
        using var context = new ProxyContext(build, x, y, 10, 3);
        double reference = GraspBeforeTheChange(context);
        Assert.True(score.IsFinite);
        Assert.True(Math.Abs(score.Value - reference) <= Tolerance * Math.Abs(reference), $"grasp {score.Value:R}, reference {reference:R}");
    }

    /// <summary>
    /// GraSP as it was computed before: g = ∂L/∂W from the context's train-mode pass, then a second forward and a
    /// backward with its graph, z = Σ g ⊙ ∇_W L, Hg = ∂z/∂W; the score Σ −W ⊙ Hg.
    /// </summary>
    private static double GraspBeforeTheChange(ProxyContext context)
    {
        var model = context.Network;
        var layers = NetworkLayers.WeightLayers(model);
        var g = context.LossGradients();
        using var scope = NewDisposeScope();
        using var bn = context.UseBatchNorm(BatchNormMode.Train);
        using var gradMode = enable_grad();
        var weights = layers.Select(l => (Tensor)l.Weight).ToArray();
        var loss = nn.functional.cross_entropy(model.call(context.Inputs), context.Labels!);
        var gradW = autograd.grad([loss], weights, retain_graph: true, create_graph: true, allow_unused: true);
        Tensor? z = null;
        for (int i = 0; i < weights.Length; i++)
            if (!gradW[i].IsInvalid)
            {
                var term = (g.Of(layers[i].Weight) * gradW[i]).sum();
                z = z is null ? term : z + term;
            }
        var hg = autograd.grad([z!], weights, allow_unused: true);
        double sum = 0;
        for (int i = 0; i < weights.Length; i++)
            if (!hg[i].IsInvalid) sum -= (weights[i].to_type(ScalarType.Float64) * hg[i].to_type(ScalarType.Float64)).sum().item<double>();
        return sum;
    }
}
