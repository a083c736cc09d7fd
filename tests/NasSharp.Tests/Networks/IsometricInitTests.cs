using NasSharp.Networks;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Networks;

/// <summary>
/// The isometric initialiser against the closed form: a linear stack of delta-orthogonal convolutions (or orthogonal linear
/// layers) with zero biases multiplies every pixel by a product of orthogonal matrices, so its Jacobian is orthogonal at
/// gain 1 and σ_w^L times orthogonal at gain σ_w.
/// </summary>
[Collection(TorchCollection.Name)]
public class IsometricInitTests
{
    private const int Depth = 8;

    private static double[] JacobianSingularValues(nn.Module<Tensor, Tensor> stack, long[] sampleShape)
    {
        using var scope = NewDisposeScope();
        long d = sampleShape.Aggregate(1L, (a, b) => a * b);
        // The stack is linear (zero biases, no activation): J's columns are the images of the basis vectors.
        var basis = eye(d, dtype: ScalarType.Float64).reshape([d, .. sampleShape]);
        using var noGrad = no_grad();
        var j = stack.call(basis).reshape(d, -1).t();
        return linalg.svdvals(j).data<double>().ToArray();
    }

    private static nn.Module<Tensor, Tensor> ConvStack()
    {
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        for (int l = 0; l < Depth; l++)
            layers.Add(($"conv{l}", l % 3 == 2 ? nn.Conv2d(6, 6, 3, padding: 1, groups: 3) : nn.Conv2d(6, 6, l % 2 == 0 ? 3 : 5, padding: l % 2 == 0 ? 1 : 2)));
        return nn.Sequential(layers.ToArray()).to(ScalarType.Float64);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(2.0)]
    public void ADeltaOrthogonalConvolutionStackIsAnIsometryUpToItsGain(double sigmaW2)
    {
        using var stack = ConvStack();
        random.manual_seed(4);
        IsometricInit.Apply(stack, sigmaW2);
        var s = JacobianSingularValues(stack, [6, 5, 5]);
        double expected = Math.Pow(Math.Sqrt(sigmaW2), Depth);
        Assert.Equal(150, s.Length);
        Assert.All(s, v => Assert.True(Math.Abs(v / expected - 1) < 1e-6, $"singular value {v}, expected {expected}"));
    }

    [Fact]
    public void AnOrthogonalLinearStackIsOrthogonal()
    {
        var layers = Enumerable.Range(0, Depth).Select(l => ($"fc{l}", (nn.Module<Tensor, Tensor>)nn.Linear(12, 12))).ToList();
        using var stack = nn.Sequential(layers.ToArray()).to(ScalarType.Float64);
        random.manual_seed(9);
        IsometricInit.Apply(stack, 1.0);
        Assert.All(JacobianSingularValues(stack, [12]), v => Assert.True(Math.Abs(v - 1) < 1e-6, $"singular value {v}"));
    }

    [Fact]
    public void TheDefaultInitialisationIsNotAnIsometry()
    {
        // The reference the test above could fail against: the same stack at libtorch's default initialisation.
        using var stack = ConvStack();
        var s = JacobianSingularValues(stack, [6, 5, 5]);
        Assert.True(s[0] / s[^1] > 10, $"condition number {s[0] / s[^1]}");
    }

    [Fact]
    public void ARectangularKernelIsSemiOrthogonal()
    {
        random.manual_seed(1);
        using var scope = NewDisposeScope();
        var w = IsometricInit.DeltaOrthogonal([3, 7, 3, 3], 1, 1.0);
        var centre = w[TensorIndex.Colon, TensorIndex.Colon, 1, 1];
        Assert.True((centre.mm(centre.t()) - eye(3, dtype: ScalarType.Float64)).abs().max().item<double>() < 1e-12);
        Assert.Equal(0.0, (w.abs().sum() - centre.abs().sum()).item<double>(), 12);
    }
}
