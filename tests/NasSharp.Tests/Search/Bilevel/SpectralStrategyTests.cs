using NasSharp.Search;
using NasSharp.Spaces;
using Xunit;

namespace NasSharp.Tests.Search.Bilevel;

[Collection(TorchCollection.Name)]
public class SpectralStrategyTests
{
    [Theory]
    [InlineData("spectral-als")]
    [InlineData("gd")]
    public void ANonlinearActivationOutweighsTheIdentityOnXor(string method)
    {
        // f = Σ α_i ⟨θ, φ_i(x)⟩: the identity's features are linear in x and cannot carry sign(x₁x₂).
        var space = new MlpSpace(depth: 1, width: 64, choices: [Activation.Identity, Activation.Relu], allowSkips: false);
        var strategy = StrategyRegistry.Default.Create("spectral", new Settings([new("train-points", "100"), new("val-points", "80"), new("features", "32"), new("method", method)]));
        var outcome = strategy.Run(new SearchContext(space, MklStrategyTests.Data(), Seed: 1));
        Assert.Equal("w64/relu", outcome.Arch);
        Assert.Equal(1.0, outcome.Ranked.Sum(c => c.Score), 1e-12);
        Assert.True(outcome.Ranked[0].Score > outcome.Ranked[1].Score);
    }
}
