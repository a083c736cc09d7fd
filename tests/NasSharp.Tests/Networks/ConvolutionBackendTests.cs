using NasSharp.Networks;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Networks;

public class ConvolutionBackendTests
{
    [Theory]
    [InlineData(36, 36, 1, 3, true)]
    [InlineData(16, 24, 1, 3, true)]
    [InlineData(3, 8, 1, 3, true)]
    [InlineData(36, 16, 1, 3, false)]   // the output channels decide
    [InlineData(16, 64, 1, 3, false)]
    [InlineData(36, 72, 1, 1, false)]   // pointwise
    [InlineData(24, 24, 24, 3, false)]  // depthwise
    [InlineData(32, 32, 2, 3, false)]   // 16 output channels per group
    public void ClassifiesTheShapesMeasuredWrong(long cin, long cout, long groups, long k, bool unsafeShape) =>
        Assert.Equal(unsafeShape, ConvolutionBackend.IsUnsafe(cin, cout, groups, [k, k]));

    [Fact]
    public void ConvolutionInputGradientsAreRightAfterBuildingAnUnsafeNetwork()
    {
        using var scope = NewDisposeScope();
        // Building the width-36 ResNet must turn oneDNN off (36 output channels, 3×3).
        using var model = new ConvResNet(3, 10, width: 36);
        Assert.NotNull(ConvolutionBackend.UnsafeConvolution(model));
        Assert.True(ConvolutionBackend.CanControl);
        Assert.Equal(false, ConvolutionBackend.OneDnnEnabled);
        Assert.Contains("Conv2d", ConvolutionBackend.DisabledReason);

        // The input gradient of a 36→36 3×3 convolution in float32 against float64 (the shape oneDNN got wrong in
        // every one of 20 draws on this machine): with the backend switched, every draw agrees to float32 rounding.
        for (int draw = 0; draw < 10; draw++)
        {
            using var drawScope = NewDisposeScope();
            var generator = new Generator((ulong)(100 + draw));
            var w = randn(new long[] { 36, 36, 3, 3 }, generator: generator);
            var x = randn(new long[] { 8, 36, 8, 8 }, generator: generator);
            var gradOutput = randn(new long[] { 8, 36, 8, 8 }, generator: generator);
            Tensor InputGradient(ScalarType dtype)
            {
                var xx = x.to_type(dtype).requires_grad_(true);
                var y = nn.functional.conv2d(xx, w.to_type(dtype), null, null, new long[] { 1, 1 });
                return autograd.grad(new[] { y }, new[] { xx }, new[] { gradOutput.to_type(dtype) })[0];
            }
            var single = InputGradient(ScalarType.Float32).to_type(ScalarType.Float64);
            var reference = InputGradient(ScalarType.Float64);
            double error = ((single - reference).norm() / reference.norm()).item<double>();
            Assert.True(error < 1e-5, $"draw {draw}: relative error {error}");
        }
    }

    [Fact]
    public void Nb201ChannelsAreSafe()
    {
        using var scope = NewDisposeScope();
        var genotype = NasSharp.Spaces.Nb201Genotype.Parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|");
        using var model = new Nb201Network(genotype, 3, 10);
        Assert.Null(ConvolutionBackend.UnsafeConvolution(model));
    }
}
