using NasSharp.Networks;
using NasSharp.Spaces;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Networks;

[Collection(TorchCollection.Name)]
public class MlpNetworkTests
{
    private static readonly NetworkOptions Ntk64 = NetworkOptions.Ntk(sigmaW: 1.3, sigmaB: 0.2) with { DType = ScalarType.Float64 };

    [Fact]
    public void ForwardMatchesAManualComputationWithSkipsInNtkParameterisation()
    {
        using var scope = torch.NewDisposeScope();
        var g = MlpGenotype.Parse("w5/tanh-relu+1-gelu+1+2");
        var net = (MlpNetwork)new MlpSpace().BuildNetwork(g, [3], 2, Ntk64, seed: 11);
        var x = torch.randn(4, 3, dtype: ScalarType.Float64);

        // h = (σ_w/√fan_in) W x + σ_b b, with the genotype's skips added after each activation.
        Tensor Dense(ScaledLinear l, Tensor input) =>
            input.matmul(l.Weight.t()) * (1.3 / Math.Sqrt(l.InFeatures)) + l.Bias * 0.2;
        var d = net.DenseLayers;
        var x1 = Dense(d[0], x).tanh();
        var x2 = Dense(d[1], x1).relu() + x1;
        var x3 = nn.functional.gelu(Dense(d[2], x2)) + x1 + x2;
        var expected = Dense(d[3], x3);

        var actual = net.forward(x);
        Assert.Equal(new long[] { 4, 2 }, actual.shape);
        Assert.True(torch.allclose(actual, expected, rtol: 1e-12, atol: 1e-12));
    }

    [Trait("Category", "Reliability")]
    [Theory]
    [InlineData(Parameterization.Ntk)]
    [InlineData(Parameterization.Standard)]
    public void AFloat64NetworkHasExactlyTheWeightsOfTheFloat32One(Parameterization parameterization)
    {
        using var scope = torch.NewDisposeScope();
        var g = MlpGenotype.Parse("w64/tanh-relu+1");
        var options = new NetworkOptions { Parameterization = parameterization };
        var single = (MlpNetwork)new MlpSpace().BuildNetwork(g, [10], 3, options, seed: 5);
        var dual = (MlpNetwork)new MlpSpace().BuildNetwork(g, [10], 3, options with { DType = ScalarType.Float64 }, seed: 5);
        for (int l = 0; l < single.DenseLayers.Count; l++)
        {
            Assert.Equal(ScalarType.Float64, dual.DenseLayers[l].Weight.dtype);
            Assert.True(torch.allclose(single.DenseLayers[l].Weight.to(ScalarType.Float64), dual.DenseLayers[l].Weight, rtol: 0, atol: 0), $"layer {l} weights");
            Assert.True(torch.allclose(single.DenseLayers[l].Bias.to(ScalarType.Float64), dual.DenseLayers[l].Bias, rtol: 0, atol: 0), $"layer {l} biases");
        }
        // So float64 measures float32's rounding on the same network: outputs agree to float32's precision, not exactly.
        var x = torch.randn(8, 10, dtype: ScalarType.Float64);
        var difference = (single.forward(x.to(ScalarType.Float32)).to(ScalarType.Float64) - dual.forward(x)).abs().max().item<double>();
        Assert.InRange(difference, 1e-12, 1e-5);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void OnlyFloat64ConfigurationsRecordTheirDrawSoFloat32KeysStayAsTheyWere()
    {
        Assert.Equal("""{"parameterization":"ntk","sigma_w":1,"sigma_b":0.1,"d_type":"float32"}""", NasJson.Serialize(NetworkOptions.Ntk()));
        Assert.Equal("""{"parameterization":"ntk","sigma_w":1,"sigma_b":0.1,"d_type":"float64","weights_drawn_in":"float32"}""",
            NasJson.Serialize(NetworkOptions.Ntk() with { DType = ScalarType.Float64 }));
    }

    [Fact]
    public void NtkParameterisationDrawsStandardNormalWeightsAndScalesByFanIn()
    {
        using var scope = torch.NewDisposeScope();
        var net = (MlpNetwork)new MlpSpace().BuildNetwork(MlpGenotype.Parse("w512/relu"), [784], 10, Ntk64, seed: 1);
        var w = net.DenseLayers[0].Weight;
        // 401,408 draws of N(0,1): the sample mean and variance are within 5 standard errors.
        Assert.InRange(w.mean().item<double>(), -5 / Math.Sqrt(w.numel()), 5 / Math.Sqrt(w.numel()));
        Assert.InRange(w.var().item<double>(), 1 - 5 * Math.Sqrt(2.0 / w.numel()), 1 + 5 * Math.Sqrt(2.0 / w.numel()));
        Assert.Equal(1.3 / Math.Sqrt(784), net.DenseLayers[0].WeightScale, 15);
        Assert.Equal(1.3 / Math.Sqrt(512), net.DenseLayers[1].WeightScale, 15);
    }

    [Fact]
    public void StandardParameterisationMatchesTorchLinearBounds()
    {
        using var scope = torch.NewDisposeScope();
        var net = (MlpNetwork)new MlpSpace().BuildNetwork(MlpGenotype.Parse("w100/relu"), [400], 10, new NetworkOptions(), seed: 1);
        var w = net.DenseLayers[0].Weight;
        Assert.True(w.abs().max().item<float>() <= 1 / Math.Sqrt(400) + 1e-7);
        Assert.Equal(1.0, net.DenseLayers[0].WeightScale);
    }

    [Fact]
    public void TheSameSeedBuildsTheSameNetwork()
    {
        using var scope = torch.NewDisposeScope();
        var g = MlpGenotype.Parse("w16/swish-elu+1");
        var a = new MlpSpace().BuildNetwork(g, [1, 4, 4], 3, NetworkOptions.Ntk(), seed: 5);
        var b = new MlpSpace().BuildNetwork(g, [1, 4, 4], 3, NetworkOptions.Ntk(), seed: 5);
        var c = new MlpSpace().BuildNetwork(g, [1, 4, 4], 3, NetworkOptions.Ntk(), seed: 6);
        var x = torch.randn(2, 1, 4, 4);
        Assert.True(a.forward(x).allclose(b.forward(x), rtol: 0, atol: 0));
        Assert.False(a.forward(x).allclose(c.forward(x), rtol: 0, atol: 0));
    }

    [Fact]
    public void WrongInputSizeIsAClearError()
    {
        using var scope = torch.NewDisposeScope();
        var net = new MlpSpace().BuildNetwork(MlpGenotype.Parse("w8/relu"), [10], 2, new NetworkOptions(), seed: 1);
        var e = Assert.Throws<ArgumentException>(() => net.forward(torch.randn(3, 7)));
        Assert.Contains("10 features", e.Message);
    }

    [Theory]
    [InlineData(Activation.Relu, 0.0, 0.0)]
    [InlineData(Activation.Relu, 1.5, 1.5)]
    [InlineData(Activation.LeakyRelu, -2.0, -0.02)]
    [InlineData(Activation.Sigmoid, 0.0, 0.5)]
    [InlineData(Activation.Elu, -1.0, -0.6321205588285577)]
    [InlineData(Activation.Gelu, 1.0, 0.8413447460685429)]
    [InlineData(Activation.Swish, 1.0, 0.7310585786300049)]
    [InlineData(Activation.Softplus, 0.0, 0.6931471805599453)]
    [InlineData(Activation.Erf, 1.0, 0.8427007929497149)]
    [InlineData(Activation.Identity, -3.0, -3.0)]
    [InlineData(Activation.Tanh, 0.5, 0.46211715726000974)]
    public void TensorAndScalarActivationsAgreeWithKnownValues(Activation a, double x, double expected)
    {
        using var scope = torch.NewDisposeScope();
        Assert.Equal(expected, a.Evaluate(x), 12);
        Assert.Equal(expected, a.Apply(torch.tensor(new[] { x })).item<double>(), 12);
    }
}
