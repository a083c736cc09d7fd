using NasSharp.Proxies;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Proxies;

[Collection(TorchCollection.Name)]
public class ProxySmokeTests
{
    [Fact]
    public void EveryProxyGivesAFiniteScoreOnTheConvNet()
    {
        using var scope = NewDisposeScope();
        var x = ProxyNets.Images(1, 6);
        var y = ProxyNets.Labels(2, 6, 3);
        var evaluation = new ProxyEvaluator(ProxyRegistry.All).Evaluate(() => TinyConvNet.Build(3), x, y, 3, seed: 3);
        foreach (var r in evaluation.Results)
            Assert.True(r.Score.IsFinite, $"{r.Name}: {r.Score}");
    }
}
