using NasSharp.Networks;
using NasSharp.Search.Nasi;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Networks;

[Collection(TorchCollection.Name)]
public class NtkReparameterizationTests
{
    [Fact]
    public void WeightedGradientsOfAPlainNetworkAreTheGradientsOfItsNtkParameterisedTwin()
    {
        using var scope = NewDisposeScope();
        const double sigmaW = 1.3, sigmaB = 0.2;
        random.manual_seed(11);
        var plain = nn.Sequential(("fc1", nn.Linear(4, 6)), ("act", nn.Tanh()), ("fc2", nn.Linear(6, 3))).to(ScalarType.Float64);
        var factors = NtkReparameterization.Apply(plain, sigmaW, sigmaB);
        Assert.Equal(sigmaW * sigmaW / 4, factors["fc1.weight"], 1e-15);
        Assert.Equal(sigmaW * sigmaW / 6, factors["fc2.weight"], 1e-15);
        Assert.Equal(sigmaB * sigmaB, factors["fc2.bias"], 1e-15);

        // The twin in the NTK parameterisation (ScaledLinear: (σ_w/√fan_in)·θx + σ_b·β) holding θ = W/s, β = b/σ_b.
        var options = NetworkOptions.Ntk(sigmaW, sigmaB) with { DType = ScalarType.Float64 };
        var a = new ScaledLinear(4, 6, options);
        var b = new ScaledLinear(6, 3, options);
        var twin = nn.Sequential(("fc1", a), ("act", nn.Tanh()), ("fc2", b));
        using (no_grad())
        {
            var layers = new[] { ((Linear)plain[0], a), ((Linear)plain[2], b) };
            foreach (var (lin, scaled) in layers)
            {
                scaled.Weight.copy_(lin.weight! / scaled.WeightScale);
                scaled.Bias.copy_(lin.bias! / scaled.BiasScale);
            }
        }
        var x = randn(new long[] { 5, 4 }, dtype: ScalarType.Float64);
        var y = tensor(new long[] { 0, 1, 2, 1, 0 });
        Assert.True(plain.call(x).allclose(twin.call(x), rtol: 0, atol: 1e-13));
        double weighted = TraceNorm.Approximation(plain, x, y, createGraph: false, factors).item<double>();
        double ntk = TraceNorm.Approximation(twin, x, y, createGraph: false).item<double>();
        Assert.Equal(ntk, weighted, 1e-12 * ntk);
        // Unweighted, the stored weights' gradients give another value: the factors matter.
        Assert.True(Math.Abs(TraceNorm.Approximation(plain, x, y, createGraph: false).item<double>() - ntk) > 1e-3 * ntk);
        double perSample = TraceNorm.PerSampleSum(twin, x, y);
        Assert.Equal(perSample, TraceNorm.PerSampleSum(plain, x, y, factors), 1e-12 * perSample);
    }

    [Fact]
    public void WeightsAreDrawnAtTheNtkScaleFromTheSeed()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        var conv = nn.Sequential(("conv", nn.Conv2d(50, 60, 3, groups: 2)), ("bn", nn.BatchNorm2d(60)));
        var factors = NtkReparameterization.Apply(conv, 2.0, 0.5);
        // fan-in of a grouped 3×3 convolution: (50/2)·9 = 225, so W ~ N(0, 4/225); 13,500 draws give a std within 2%.
        Assert.Equal(4.0 / 225, factors["conv.weight"], 1e-15);
        Assert.Equal(2.0 / 15, ((Conv2d)conv[0]).weight!.std().item<float>(), 2.0 / 15 * 0.02);
        Assert.False(factors.ContainsKey("bn.weight"));
        random.manual_seed(5);
        var again = nn.Sequential(("conv", nn.Conv2d(50, 60, 3, groups: 2)), ("bn", nn.BatchNorm2d(60)));
        NtkReparameterization.Apply(again, 2.0, 0.5);
        Assert.True(((Conv2d)conv[0]).weight!.equal(((Conv2d)again[0]).weight!).all().item<bool>());
        Assert.Throws<ArgumentException>(() => NtkReparameterization.Apply(nn.Sequential(("bn", nn.BatchNorm2d(3))), 1, 0.1));
    }
}
