using NasSharp.Data;
using NasSharp.Networks;
using NasSharp.Spaces;
using NasSharp.Training;
using TorchSharp;
using Xunit;

namespace NasSharp.Tests.Training;

[Collection(TorchCollection.Name)]
public class TrainerTests
{
    // A planted problem: two Gaussian blobs per class in 6-D, linearly separable with margin.
    private static LabeledDataset Blobs(int n, int seed)
    {
        var rng = new Random(seed);
        var f = new float[n * 6];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = i % 3;
            for (int d = 0; d < 6; d++)
                f[i * 6 + d] = (float)((d == y[i] * 2 ? 3.0 : 0.0) + 0.5 * (rng.NextDouble() * 2 - 1));
        }
        return new LabeledDataset("blobs", f, y, [6], ["a", "b", "c"]);
    }

    private static TrainingResult TrainOnce(long seed)
    {
        using var scope = torch.NewDisposeScope();
        var train = Blobs(300, 1);
        var test = Blobs(150, 2);
        var model = NetworkFactory.Build(MlpGenotype.Parse("w32/relu-tanh+1"), [6], 3, new NetworkOptions(), seed);
        return Trainer.Fit(model, train, test, test, new TrainingOptions { Epochs = 3, BatchSize = 32, Seed = seed });
    }

    [Fact]
    public void LearnsAPlantedSeparableProblem()
    {
        var r = TrainOnce(1);
        Assert.False(r.Diverged);
        Assert.Equal(3, r.Epochs.Count);
        Assert.True(r.TestAccuracy >= 0.95, $"test accuracy {r.TestAccuracy}");
        Assert.True(r.Epochs[^1].TrainLoss < r.Epochs[0].TrainLoss);
    }

    [Fact]
    public void TheSameSeedGivesBitIdenticalTraining()
    {
        var a = TrainOnce(4);
        var b = TrainOnce(4);
        var c = TrainOnce(5);
        Assert.Equal(a.Epochs.Select(e => e.TrainLoss), b.Epochs.Select(e => e.TrainLoss));
        Assert.Equal(a.TestAccuracy, b.TestAccuracy);
        Assert.NotEqual(a.Epochs.Select(e => e.TrainLoss), c.Epochs.Select(e => e.TrainLoss));
    }

    [Fact]
    public void ADivergingRunIsReportedNotHidden()
    {
        using var scope = torch.NewDisposeScope();
        var train = Blobs(64, 1);
        var model = NetworkFactory.Build(MlpGenotype.Parse("w32/identity-identity+1-identity+1+2"), [6], 3, new NetworkOptions(), 1);
        var r = Trainer.Fit(model, train, null, train, new TrainingOptions { Epochs = 50, BatchSize = 8, LearningRate = 1e6, Momentum = 0.9 });
        Assert.True(r.Diverged);
        Assert.Null(r.TestAccuracy);
    }

    [Fact]
    public void InvalidOptionsAreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrainingOptions { Epochs = 0 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrainingOptions { LearningRate = double.NaN }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrainingOptions { Momentum = 1 }.Validate());
    }
}
