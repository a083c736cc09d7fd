using NasSharp.Data;
using NasSharp.Networks;
using NasSharp.Search.WeightSharing;
using NasSharp.Spaces;
using NasSharp.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Search.WeightSharing;

/// <summary>The regimes' training on a tiny NB201 path supernet: determinism by seed, and the passes each regime makes.</summary>
[Collection(TorchCollection.Name)]
public class SupernetTrainingTests
{
    private static readonly Nb201WeightSharing Sharing = new(new Nb201NetworkOptions { Channels = 2, CellsPerStage = 1 });

    private static LabeledDataset Noise()
    {
        var rng = new Random(1);
        var features = Enumerable.Range(0, 20 * 3 * 8 * 8).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        return new LabeledDataset("noise", features, [.. Enumerable.Range(0, 20).Select(i => i % 4)], [3, 8, 8], ["a", "b", "c", "d"]);
    }

    private static readonly TrainingOptions Options = new() { Epochs = 2, BatchSize = 8, LearningRate = 0.05, Seed = 5 };

    private static (SupernetTrainingResult Result, Dictionary<string, Tensor> State) Train(SupernetRegime regime, long pathSeed)
    {
        using var supernet = Sharing.BuildSupernet([3, 8, 8], 4, seed: 2);
        var result = SupernetTraining.Train(supernet, Sharing.ChoiceCounts, regime, Noise(), Options, pathSeed, initSeed: 7);
        return (result, supernet.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone()));
    }

    [Theory]
    [InlineData(SupernetRegime.Spos)]
    [InlineData(SupernetRegime.FairNas)]
    [InlineData(SupernetRegime.IsometryFair)]
    public void TheSameSeedGivesTheSameSupernetWeights(SupernetRegime regime)
    {
        using var scope = NewDisposeScope();
        var (a, first) = Train(regime, 3);
        var (_, second) = Train(regime, 3);
        var (_, other) = Train(regime, 4);
        Assert.False(a.Diverged);
        Assert.All(first, kv => Assert.True(kv.Value.eq(second[kv.Key]).all().item<bool>(), kv.Key));
        Assert.Contains(first, kv => !kv.Value.eq(other[kv.Key]).all().item<bool>());
        // 20 images in batches of 8: 3 steps an epoch; FairNAS runs 5 paths per step.
        Assert.Equal(6, a.Steps);
        Assert.Equal(regime == SupernetRegime.Spos ? 6 : 30, a.Passes);
    }

    [Fact]
    public void IsometryFairStartsFromTheDeltaOrthogonalInitialisation()
    {
        using var scope = NewDisposeScope();
        using var supernet = Sharing.BuildSupernet([3, 8, 8], 4, seed: 2);
        var options = Options with { Epochs = 1, LearningRate = 1e-300, WeightDecay = 0, Momentum = 0 };
        SupernetTraining.Train(supernet, Sharing.ChoiceCounts, SupernetRegime.IsometryFair, Noise(), options, 3, initSeed: 7);
        var stem = supernet.state_dict()["network.stem.conv.weight"];
        var centre = stem[TensorIndex.Colon, TensorIndex.Colon, 1, 1].to(ScalarType.Float64);
        // σ_w² = 2: the 2×3 centre has orthonormal rows times √2, and the other taps are zero.
        Assert.True((centre.mm(centre.t()) - 2 * eye(2, dtype: ScalarType.Float64)).abs().max().item<double>() < 1e-5);
        Assert.Equal(centre.abs().sum().item<double>(), stem.to(ScalarType.Float64).abs().sum().item<double>(), 5);
    }
    [Theory]
    [InlineData(MobileNetSharing.Independent)]
    [InlineData(MobileNetSharing.Entangled)]
    public void ASupernetTrainedOnOnePathTakesTheStepsOfThatPathsNetworkAlone(MobileNetSharing sharing)
    {
        // Reference: Trainer.Fit on the stand-alone network of the path, started from the weights the path inherits. Choice
        // counts of 1 make every SPOS draw candidate 0 at every layer (e3k3), so both runs must take the same SGD steps: the
        // supernet's path selection, weight sharing and optimiser add nothing of their own (the other candidates, never on a
        // path, have no gradient and are not stepped).
        using var scope = NewDisposeScope();
        var skeleton = new MobileNetNetworkOptions { WidthMultiplier = 0.5, LayersPerStage = [1, 1, 1, 1, 1, 1] };
        using var supernet = (MobileNetSupernet)new MobileNetSpace(skeleton, sharing).WeightSharing.BuildSupernet([3, 8, 8], 4, seed: 2);
        var genotype = new MobileNetGenotype(Enumerable.Repeat(MobileNetOperation.E3K3, 6));
        var path = new int[6];
        using var alone = new MobileNetNetwork(genotype, 3, 4, skeleton);
        supernet.CopyPathInto(alone, path);
        var untrained = alone.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

        var result = SupernetTraining.Train(supernet, [1, 1, 1, 1, 1, 1], SupernetRegime.Spos, Noise(), Options, pathSeed: 3, initSeed: 7);
        var fit = Trainer.Fit(alone, Noise(), null, null, Options);
        using var inherited = new MobileNetNetwork(genotype, 3, 4, skeleton);
        supernet.CopyPathInto(inherited, path);

        Assert.False(result.Diverged || fit.Diverged);
        Assert.Equal(6, result.Steps);
        var trained = alone.state_dict();
        Assert.Contains(untrained, kv => !kv.Value.eq(trained[kv.Key]).all().item<bool>());
        Assert.All(inherited.state_dict(), kv => Assert.True(kv.Value.eq(trained[kv.Key]).all().item<bool>(), kv.Key));
    }
}
