using NasSharp.Data;
using NasSharp.Networks;
using NasSharp.Search;
using NasSharp.Search.WeightSharing;
using NasSharp.Spaces;
using NasSharp.Store;
using NasSharp.Training;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Search.WeightSharing;

/// <summary>
/// The one-shot <c>supernet</c> strategy on a tiny NB201 supernet: its scores against a supernet trained and evaluated step by
/// step with the seeds it documents, isometry-fair's selection rule, resuming from a partial journal, and the spaces it refuses.
/// </summary>
[Collection(TorchCollection.Name)]
public class SupernetSearchTests
{
    private static readonly Nb201Space Space = new(network: new Nb201NetworkOptions { Channels = 2, CellsPerStage = 1 });

    private static LabeledDataset Noise(int count, int seed)
    {
        var rng = new Random(seed);
        var features = Enumerable.Range(0, count * 3 * 8 * 8).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        return new LabeledDataset("noise", features, [.. Enumerable.Range(0, count).Select(i => i % 4)], [3, 8, 8], ["a", "b", "c", "d"]);
    }

    private static readonly ExperimentData Data = new(new DataSpec { Dataset = "cifar10" }, new DataSplits(Noise(24, 1), Noise(20, 2), Noise(8, 3)));

    private static SupernetSearchOptions Options(SupernetRegime regime) => new()
    {
        Regime = regime, Candidates = 8, TopK = 3, Calibration = 8, IsometryBatch = 4,
        Training = new TrainingOptions { Epochs = 2, BatchSize = 8, LearningRate = 0.05 },
    };

    private static SearchOutcome Run(SupernetRegime regime, IRunJournal? journal = null) =>
        new SupernetSearch(Options(regime)).Run(new SearchContext(Space, Data, Seed: 11) { Journal = journal ?? new MemoryJournal() });

    [Fact]
    public void EachScoreIsTheInheritedAccuracyInASupernetTrainedWithTheDocumentedSeeds()
    {
        var outcome = Run(SupernetRegime.Spos);

        // The reference: the same steps written out, from SupernetTraining and PathEvaluation directly.
        using var scope = NewDisposeScope();
        var sharing = Space.WeightSharing!;
        var train = Data.Splits.Train;
        using var supernet = sharing.BuildSupernet(train.SampleShape, train.NumClasses, Seeds.Derive(11, "supernet"));
        var options = Options(SupernetRegime.Spos);
        SupernetTraining.Train(supernet, sharing.ChoiceCounts, SupernetRegime.Spos, train, options.Training with { Seed = Seeds.Derive(11, "supernet-batches") },
            Seeds.Derive(11, "paths"), Seeds.Derive(11, "isometric-init"));
        var order = Enumerable.Range(0, train.Count).ToArray();
        Seeds.Rng(11, "calibration").Shuffle(order);
        var calibration = train.Subset(order[..options.Calibration]).ToTensors().X;
        var (vx, vy) = Data.Splits.Validation.ToTensors();
        var evaluation = new PathEvaluation(supernet, calibration, vx, vy);
        var candidates = Candidates.Sample(Space, options.Candidates, 11);

        Assert.Equal(candidates.Count, outcome.Ranked.Count);
        foreach (var c in outcome.Ranked)
            Assert.Equal(evaluation.AccuracyPercent(sharing.PathOf(candidates[c.Index])), c.Score, 12);
        // spos keeps the most accurate candidate.
        Assert.Equal(outcome.Ranked.Max(c => c.Score), outcome.Ranked[0].Score);
        Assert.Equal(outcome.Ranked[0].Arch, outcome.Arch);
    }

    [Fact]
    public void IsometryFairKeepsTheTopKCandidateClosestToIsometry()
    {
        var outcome = Run(SupernetRegime.IsometryFair);

        var top = IsometrySelection.TopByAccuracy([.. Enumerable.Range(0, outcome.Ranked.Count).Select(i => outcome.Ranked.Single(c => c.Index == i).Score)])
            .Take(3).ToHashSet();
        var measured = outcome.Ranked.Where(c => c.Measures.ContainsKey("jacobian_isometry")).ToList();
        Assert.Equal(top, measured.Select(c => c.Index).ToHashSet());
        var finite = measured.Where(c => double.IsFinite(c.Measures["jacobian_isometry"])).ToList();
        Assert.NotEmpty(finite);
        Assert.Equal(finite.MaxBy(c => c.Measures["jacobian_isometry"])!.Arch, outcome.Arch);
    }

    [Fact]
    public void ASearchResumedFromPartOfItsJournalGivesTheSameOutcome()
    {
        var full = new MemoryJournal();
        var first = Run(SupernetRegime.IsometryFair, full);

        // Half the candidates' scores kept, the isometry scores lost: the supernet is trained again with the same seeds.
        var partial = new MemoryJournal();
        foreach (var (key, value) in full.All<ScoredCandidate>("score/").Take(4)) partial.Record(key, value);
        var resumed = Run(SupernetRegime.IsometryFair, partial);
        Assert.True(resumed.TrainingSeconds > 0);
        Assert.Equal(first.Arch, resumed.Arch);
        Assert.Equal(first.Ranked.Select(c => (c.Index, c.Score)), resumed.Ranked.Select(c => (c.Index, c.Score)));
        Assert.Equal(first.Ranked.Select(c => c.Measures.GetValueOrDefault("jacobian_isometry")),
            resumed.Ranked.Select(c => c.Measures.GetValueOrDefault("jacobian_isometry")));

        // With everything journaled, nothing is trained again.
        var again = Run(SupernetRegime.IsometryFair, full);
        Assert.Equal(0, again.TrainingSeconds);
        Assert.Equal(first.Arch, again.Arch);
    }

    [Fact]
    public void ASpaceWithoutAWeightSharingFormIsRefused()
    {
        var mlp = SpaceRegistry.Default.Create("mlp");
        var e = Assert.Throws<SettingException>(() => new SupernetSearch(Options(SupernetRegime.Spos)).Validate(mlp, Data));
        Assert.Contains("no weight-sharing form", e.Message);
        Assert.Throws<SettingException>(() => StrategyRegistry.Default.Create("supernet", new Settings([new("regime", "fair")])));
        Assert.Throws<SettingException>(() => StrategyRegistry.Default.Create("supernet", new Settings([new("candidates", "5"), new("top-k", "6")])));
    }
}
