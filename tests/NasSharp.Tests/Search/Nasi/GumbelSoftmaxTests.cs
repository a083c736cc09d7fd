using NasSharp.Search.Nasi;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Search.Nasi;

[Collection(TorchCollection.Name)]
public class GumbelSoftmaxTests
{
    [Fact]
    public void NoiseHasTheGumbelMeanAndTheGumbelMaxTrickSamplesSoftmax()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(5);
        const int n = 200_000;
        var noise = GumbelSoftmax.Noise([n, 3], generator);
        // E[g] = Euler–Mascheroni γ ≈ 0.5772, Var[g] = π²/6; the standard error of the mean over 6·10⁵ draws is 1.7e-3.
        Assert.Equal(0.5772156649, noise.mean().item<double>(), 0.01);
        Assert.Equal(Math.PI * Math.PI / 6, noise.var().item<double>(), 0.03);
        // argmax(α + g) ~ Categorical(softmax(α)): frequencies within 5 standard errors (≤ 5.5e-3 here).
        var alpha = tensor(new[] { 1.0, 0.0, -1.0 });
        var counts = (noise + alpha).argmax(1).bincount(null, 3).to_type(ScalarType.Float64) / n;
        var p = alpha.softmax(0);
        for (int i = 0; i < 3; i++) Assert.Equal(p[i].item<double>(), counts[i].item<double>(), 0.0055);
    }

    [Fact]
    public void LowTemperatureIsTheOneHotArgmaxAndHighTemperatureIsUniform()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(6);
        var alpha = tensor(new[,] { { 0.3, -0.2, 1.1, 0.0 }, { 0.0, 0.0, 0.0, 0.0 } });
        var noise = GumbelSoftmax.Noise([2, 4], generator);
        var cold = GumbelSoftmax.Weights(alpha, noise, 1e-4);
        var hot = GumbelSoftmax.Weights(alpha, noise, 1e6);
        var argmax = (alpha + noise).argmax(1);
        for (int e = 0; e < 2; e++)
            for (int o = 0; o < 4; o++)
            {
                Assert.Equal(o == argmax[e].item<long>() ? 1.0 : 0.0, cold[e, o].item<double>(), 1e-12);
                Assert.Equal(0.25, hot[e, o].item<double>(), 1e-5);
            }
        Assert.Throws<ArgumentOutOfRangeException>(() => GumbelSoftmax.Weights(alpha, noise, 0));
    }

    [Fact]
    public void TheSameSeedGivesTheSameNoise()
    {
        using var scope = NewDisposeScope();
        using var a = new Generator(42);
        using var b = new Generator(42);
        using var c = new Generator(43);
        var x = GumbelSoftmax.Noise([6, 5], a);
        Assert.True(x.equal(GumbelSoftmax.Noise([6, 5], b)).all().item<bool>());
        Assert.False(x.equal(GumbelSoftmax.Noise([6, 5], c)).all().item<bool>());
    }
}
