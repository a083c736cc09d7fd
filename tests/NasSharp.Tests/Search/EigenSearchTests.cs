using NasSharp.Data;
using NasSharp.Kernels;
using NasSharp.Networks;
using NasSharp.Search;
using NasSharp.Spaces;
using NasSharp.Theory;
using Xunit;

namespace NasSharp.Tests.Search;

[Collection(TorchCollection.Name)]
public class EigenSearchTests
{
    private static LabeledDataset Blobs(int n, int seed)
    {
        var rng = new Random(seed);
        var f = new float[n * 8];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = i % 2;
            for (int d = 0; d < 8; d++) f[i * 8 + d] = (float)(rng.NextDouble() * 2 - 1 + (d == y[i] ? 2 : 0));
        }
        return new LabeledDataset("blobs", f, y, [8], ["a", "b"]);
    }

    private static DataSplits Data() => new(Blobs(200, 1), Blobs(60, 2), Blobs(60, 3));

    private static EigenSearch Search(long seed = 1) => new(new MlpSpace(depth: 2, width: 16),
        new EigenSearchOptions { Candidates = 5, TopK = 2, NtkBatch = 12, Seed = seed, Training = new() { Epochs = 2, BatchSize = 20 } });

    [Fact]
    public void RanksByTheScoreDescendingAndTrainsTheTopK()
    {
        var r = Search().Run(Data());
        Assert.Equal(5, r.Ranked.Count);
        Assert.Equal(r.Ranked.Select(c => c.Score).OrderByDescending(s => s), r.Ranked.Select(c => c.Score));
        Assert.Equal(r.Ranked.Take(2).Select(c => c.Index).Order(), r.Trained.Select(t => t.Index).Order());
        Assert.All(r.Ranked, c => Assert.Equal(c.LambdaMin, c.Score));
        Assert.NotNull(r.BestTrained);
        Assert.Equal(r.Trained.Max(t => t.ValidationAccuracy), r.BestTrained!.ValidationAccuracy);
    }

    [Fact]
    public void TheSameSeedGivesTheSameSearch()
    {
        var a = Search(3).Run(Data());
        var b = Search(3).Run(Data());
        Assert.Equal(a.Ranked.Select(c => (c.Arch, c.Score)), b.Ranked.Select(c => (c.Arch, c.Score)));
        Assert.Equal(a.BestTrained!.TestAccuracy, b.BestTrained!.TestAccuracy);
    }

    [Fact]
    public void NonFiniteScoresRankLastAndAreCounted()
    {
        var scores = new[]
        {
            new CandidateScore(0, "a", 1.0, 1.0, 2, 3, 2, null, 0),
            new CandidateScore(1, "b", double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, "Θ has 3 NaN entries", 0),
            new CandidateScore(2, "c", 5.0, 5.0, 6, 7, 1.2, null, 0),
        };
        var ranked = EigenSearch.Rank(scores);
        Assert.Equal(new[] { 2, 0, 1 }, ranked.Select(s => s.Index));
        Assert.False(ranked[^1].IsFinite);
    }

    /// <summary>Keeps records like the store does, and can fail after a number of new records (a crash).</summary>
    private sealed class MemoryJournal : ISearchJournal
    {
        public readonly Dictionary<int, CandidateScore> Scores = [];
        public readonly Dictionary<int, TrainedCandidate> Trainings = [];
        public int ComputedScores, ComputedTrainings;
        public int FailAfter = int.MaxValue;
        public CandidateScore? FindScore(int index, string arch) => Scores.GetValueOrDefault(index);
        public void RecordScore(CandidateScore score)
        {
            if (ComputedScores + ComputedTrainings >= FailAfter) throw new IOException("simulated crash");
            Scores[score.Index] = score; ComputedScores++;
        }
        public TrainedCandidate? FindTraining(int index, string arch) => Trainings.GetValueOrDefault(index);
        public void RecordTraining(TrainedCandidate trained) { Trainings[trained.Index] = trained; ComputedTrainings++; }
    }

    [Fact]
    public void AnInterruptedSearchResumesWithoutRedoingFinishedCandidates()
    {
        var journal = new MemoryJournal { FailAfter = 3 };
        Assert.Throws<IOException>(() => Search(7).Run(Data(), journal: journal));
        Assert.Equal(3, journal.Scores.Count);

        journal.FailAfter = int.MaxValue;
        journal.ComputedScores = 0;
        var resumed = Search(7).Run(Data(), journal: journal);
        Assert.Equal(2, journal.ComputedScores); // only the two unfinished candidates
        Assert.Equal(2, journal.ComputedTrainings);

        var fresh = Search(7).Run(Data());
        Assert.Equal(fresh.Ranked.Select(c => (c.Arch, c.Score)), resumed.Ranked.Select(c => (c.Arch, c.Score)));
    }

    [Fact]
    public void ScoreNamesRoundTripAndLambdaMinIsAnAliasOfEmpirical()
    {
        foreach (var score in Enum.GetValues<EigenScore>())
        {
            Assert.True(EigenScores.TryParse(score.Name(), out var parsed));
            Assert.Equal(score, parsed);
        }
        Assert.True(EigenScores.TryParse("lambda_min", out var alias));
        Assert.Equal(EigenScore.MinEigenvalue, alias);
        Assert.False(EigenScores.TryParse("banana", out _));
    }

    [Fact]
    public void TheoryScoresComeFromTheAnalyticKernelOfTheSphereProjectedBatch()
    {
        var data = Data();
        var search = new EigenSearch(new MlpSpace(depth: 2, width: 16),
            new EigenSearchOptions { Candidates = 4, TopK = 0, NtkBatch = 12, Seed = 4, Score = EigenScore.AnalyticMinEigenvalue });
        var inputs = search.NtkInputs(data.Train);
        var candidates = search.SampleCandidates();
        var batch = SphereBatch.From(inputs);
        foreach (var (g, i) in candidates.Select((g, i) => (g, i)))
        {
            // Independent path: the kernel of the projected batch straight from AnalyticNtk.
            double expected = AnalyticNtk.Compute((MlpGenotype)g, batch.Inputs, batch.Count, NetworkOptions.Ntk()).Spectrum().LambdaMin;
            var analytic = search.ScoreCandidate(i, g, inputs, TorchSharp.torch.CPU);
            Assert.Equal(expected, analytic.Score, 1e-12 * Math.Abs(expected));
            Assert.Equal(analytic.Score, analytic.LambdaMin);

            var bound = new EigenSearch(search.Space, search.Options with { Score = EigenScore.LowerBound }).ScoreCandidate(i, g, inputs, TorchSharp.torch.CPU);
            var complexity = new EigenSearch(search.Space, search.Options with { Score = EigenScore.InverseComplexity }).ScoreCandidate(i, g, inputs, TorchSharp.torch.CPU);
            Assert.InRange(bound.Score, 0, analytic.LambdaMin);
            // N / tr(YᵀΘ⁻¹Y) ≥ λ_min because ‖Y‖_F² = N for one-hot labels.
            Assert.True(complexity.Score >= analytic.LambdaMin * (1 - 1e-12));
        }
        var r = search.Run(data);
        Assert.Equal(r.Ranked.Select(c => c.Score).OrderByDescending(v => v), r.Ranked.Select(c => c.Score));
    }

    [Fact]
    public void TheoryScoresNeedTheNtkParameterisation()
    {
        var options = new EigenSearchOptions { Score = EigenScore.LowerBound, ScoringNetwork = new NetworkOptions() };
        var e = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains("ntk", e.Message);
    }
}
