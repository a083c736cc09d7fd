using NasSharp.Spaces;
using Xunit;

namespace NasSharp.Tests.Spaces;

public class MlpRelaxationTests
{
    [Fact]
    public void TheDerivationTakesEachLayersArgmaxAndKeepsTheSkeletonsSkips()
    {
        var space = new MlpSpace(depth: 3, width: 32, choices: [Activation.Relu, Activation.Tanh, Activation.Swish], relaxedSkips: MlpSkipPattern.Dense);
        var relaxation = space.Relaxation!;
        Assert.Equal(3, relaxation.Groups[0].Edges);
        Assert.Equal(["relu", "tanh", "swish"], relaxation.Groups[0].Operations);
        var genotype = relaxation.Derive([new double[,] { { 0.1, 0.5, -2 }, { 3, 2.9, 0 }, { -1, -1, -0.5 } }]);
        Assert.Equal("w32/tanh-relu+1-swish+1+2", genotype.Canonical);
        Assert.Equal(genotype, space.Parse(genotype.Canonical));
    }

    [Fact]
    public void ASharedAlphaGivesEveryLayerTheSameActivation()
    {
        var space = new MlpSpace(depth: 2, width: 8, choices: [Activation.Relu, Activation.Tanh], sharedAlpha: true);
        var relaxation = space.Relaxation!;
        Assert.Equal(1, relaxation.Groups[0].Edges);
        Assert.Equal("w8/tanh-tanh", relaxation.Derive([new double[,] { { 0, 1 } }]).Canonical);
        Assert.Throws<ArgumentException>(() => relaxation.Derive([new double[,] { { 0, 1 }, { 1, 0 } }]));
    }

    [Theory]
    [InlineData(false, 16)]   // 4 activations on each of 2 layers
    [InlineData(true, 4)]     // one shared choice
    public void TheDiscreteArchitecturesAreEveryActivationAssignment(bool shared, int count)
    {
        var space = new MlpSpace(depth: 2, width: 8, choices: [Activation.Relu, Activation.Tanh, Activation.Gelu, Activation.Sigmoid], allowSkips: false, sharedAlpha: shared);
        var all = space.Relaxation!.DiscreteArchitectures();
        Assert.Equal(count, all.Count);
        Assert.Equal(count, all.Select(g => g.Canonical).Distinct().Count());
        Assert.All(all, g => space.Parse(g.Canonical));
        if (!shared) Assert.Equal(space.Enumerate().Select(g => g.Canonical).Order(), all.Select(g => g.Canonical).Order());
    }

    [Fact]
    public void TheRegistryMakesTheRelaxationFromSettings()
    {
        var space = (MlpSpace)SpaceRegistry.Default.Create("mlp", new Settings([new("depth", "2"), new("relaxed-skips", "residual"), new("shared-alpha", "true")]));
        Assert.Equal("residual", space.Settings["relaxed-skips"]);
        Assert.Equal("true", space.Settings["shared-alpha"]);
        Assert.Equal("w256/relu-relu+1", ((MlpRelaxation)space.Relaxation).Skeleton.Canonical);
        var e = Assert.Throws<SettingException>(() => SpaceRegistry.Default.Create("mlp", new Settings([new("no-skips", "true"), new("relaxed-skips", "dense")])));
        Assert.Contains("--no-skips", e.Message);
    }
}
