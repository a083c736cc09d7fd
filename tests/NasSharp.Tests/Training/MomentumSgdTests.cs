using NasSharp.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Training;

[Collection(TorchCollection.Name)]
public class MomentumSgdTests
{
    private static nn.Module<Tensor, Tensor> Net(long seed)
    {
        random.manual_seed(seed);
        return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3));
    }

    [Theory]
    [InlineData(0.9, 5e-4)]
    [InlineData(0.0, 0.0)]
    [InlineData(0.5, 0.0)]
    public void ItTakesTorchSharpsSgdStepsToTheBit(double momentum, double weightDecay)
    {
        using var scope = NewDisposeScope();
        using var reference = Net(1);
        using var ours = Net(1);
        using var sgd = optim.SGD(reference.parameters(), 0.1, momentum, weight_decay: weightDecay);
        using var mine = new MomentumSgd(ours.parameters(), 0.1, momentum, weightDecay);
        random.manual_seed(2);
        for (int step = 0; step < 6; step++)
        {
            using var stepScope = NewDisposeScope();
            var x = randn(5, 6);
            var y = randint(0, 3, new long[] { 5 });
            double lr = 0.1 / (1 + step);
            foreach (var g in sgd.ParamGroups) g.LearningRate = lr;
            mine.LearningRate = lr;
            sgd.zero_grad();
            nn.functional.cross_entropy(reference.call(x), y).backward();
            sgd.step();
            mine.ZeroGrad();
            nn.functional.cross_entropy(ours.call(x), y).backward();
            mine.Step();
        }
        var a = reference.parameters().ToArray();
        var b = ours.parameters().ToArray();
        Assert.Equal(a.Length, b.Length);
        for (int k = 0; k < a.Length; k++) Assert.True(a[k].equal(b[k]).all().item<bool>(), $"parameter {k} differs");
        // The parameters moved: the comparison is not of two untouched copies.
        using var initial = Net(1);
        Assert.False(initial.parameters().First().equal(b[0]).all().item<bool>());
    }

    [Fact]
    public void AfterZeroGradEveryGradientIsZeroAndAStepWithoutWeightDecayMovesNothing()
    {
        using var scope = NewDisposeScope();
        using var net = Net(3);
        using var sgd = new MomentumSgd(net.parameters(), 0.1, 0.9, 0);
        nn.functional.cross_entropy(net.call(randn(4, 6)), tensor(new long[] { 0, 1, 2, 0 })).backward();
        sgd.ZeroGrad();
        Assert.All(net.parameters(), p => Assert.Equal(0.0, p.grad!.abs().max().item<float>()));
        var before = net.parameters().Select(p => p.detach().clone()).ToArray();
        sgd.Step();
        Assert.All(net.parameters().Zip(before), x => Assert.True(x.First.equal(x.Second).all().item<bool>()));
    }
}
