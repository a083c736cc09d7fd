using NasSharp.Spaces;
using Xunit;

namespace NasSharp.Tests.Spaces;

public class MlpGenotypeTests
{
    [Theory]
    [InlineData("w256/relu")]
    [InlineData("w64/relu-tanh+1-gelu+1+2")]
    [InlineData("w8/leaky_relu-sigmoid-swish+2-elu+1+3-identity+4-softplus-erf+1+2+3+4+5+6")]
    public void CanonicalStringRoundTrips(string text)
    {
        var g = MlpGenotype.Parse(text);
        Assert.Equal(text, g.Canonical);
        Assert.Equal(g, MlpGenotype.Parse(g.Canonical));
        Assert.Equal(g.GetHashCode(), MlpGenotype.Parse(g.Canonical).GetHashCode());
    }

    [Fact]
    public void SiluIsReadAsSwish() =>
        Assert.Equal("w4/swish", MlpGenotype.Parse("w4/silu").Canonical);

    [Fact]
    public void SpecialCasesHaveTheExpectedSkips()
    {
        Assert.Equal("w16/relu-relu-relu", MlpGenotype.Plain(16, Activation.Relu, Activation.Relu, Activation.Relu).Canonical);
        Assert.Equal("w16/relu-relu+1-relu+2", MlpGenotype.Residual(16, Activation.Relu, Activation.Relu, Activation.Relu).Canonical);
        Assert.Equal("w16/relu-relu+1-relu+1+2", MlpGenotype.Dense(16, Activation.Relu, Activation.Relu, Activation.Relu).Canonical);
    }

    [Theory]
    [InlineData("relu-tanh", "must start with the width")]
    [InlineData("w0/relu", "not a positive width")]
    [InlineData("w12x/relu", "not a positive width")]
    [InlineData("w16/", "has no layers")]
    [InlineData("w16/relu-banana", "unknown activation 'banana'")]
    [InlineData("w16/relu+1", "skips must come from earlier layers")]
    [InlineData("w16/relu-relu+2", "skips must come from earlier layers 1..1")]
    [InlineData("w16/relu-relu-relu+2+1", "out of order or twice")]
    [InlineData("w16/relu-relu-relu+1+1", "out of order or twice")]
    [InlineData("w16/relu-relu+x", "not a layer number")]
    [InlineData("w16/relu--relu", "unknown activation ''")]
    public void MalformedStringsNameTheProblemAndShowTheForm(string text, string problem)
    {
        var e = Assert.Throws<GenotypeFormatException>(() => MlpGenotype.Parse(text));
        Assert.Contains(problem, e.Message);
        Assert.Contains("w256/relu-tanh+1-gelu+1+2", e.Message);
        Assert.Contains(text, e.Message);
    }
}
