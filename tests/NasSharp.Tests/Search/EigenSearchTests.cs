using NasSharp.Data;
using NasSharp.Kernels;
using NasSharp.Networks;
using NasSharp.Search;
using NasSharp.Spaces;
using NasSharp.Store;
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

    private static ExperimentData Data() => new(new DataSpec { Dataset = "iris" }, new DataSplits(Blobs(200, 1), Blobs(60, 2), Blobs(60, 3)));

    private static readonly MlpSpace Space = new(depth: 2, width: 16);

    private static EigenSearch Search() =>
        new(new EigenSearchOptions { Candidates = 5, TopK = 2, NtkBatch = 12, Training = new() { Epochs = 2, BatchSize = 20 } });

    private static SearchOutcome Run(long seed = 1, IRunJournal? journal = null) =>
        Search().Run(new SearchContext(Space, Data(), seed) { Journal = journal ?? new MemoryJournal() });

    [Fact]
    public void WithoutAGivenParameterizationACellSpaceIsScoredInItsOwn()
    {
        // NB201 networks are built in the standard parameterisation only; the NTK one is eigen's default elsewhere.
        var images = new LabeledDataset("images", new float[4 * 3 * 8 * 8], [0, 1, 0, 1], [3, 8, 8], ["a", "b"]);
        var data = new ExperimentData(new DataSpec { Dataset = "cifar10" }, new DataSplits(images, images, images));
        var nb201 = new Nb201Space();

        var byDefault = (EigenSearch)StrategyRegistry.Default.Create("eigen");
        Assert.Equal(Parameterization.Standard, byDefault.Options.ScoringNetworkOn(nb201).Parameterization);
        Assert.Equal(Parameterization.Ntk, byDefault.Options.ScoringNetworkOn(Space).Parameterization);
        byDefault.Validate(nb201, data);

        // A parameterisation the user gives is kept, and one the space cannot build is refused in one line.
        var given = (EigenSearch)StrategyRegistry.Default.Create("eigen", new Settings([new("parameterization", "ntk")]));
        Assert.Equal(Parameterization.Ntk, given.Options.ScoringNetworkOn(nb201).Parameterization);
        var e = Assert.Throws<SettingException>(() => given.Validate(nb201, data));
        Assert.Equal("--strategy eigen on nb201: nb201 networks are built in the standard parameterisation only; score in the standard one with --parameterization standard.", e.Message);
    }

    [Fact]
    public void TheNtkBatchDefaultsToTheMeasuredOneOnNb201AndAGivenOneWins()
    {
        // nb201 scores 256 inputs by default (its measurements, EigenRankings.NtkBatch); spaces without one keep 64.
        var byDefault = (EigenSearch)StrategyRegistry.Default.Create("eigen");
        Assert.Null(byDefault.Options.NtkBatch);
        Assert.Equal(256, byDefault.Options.NtkBatchOn(new Nb201Space()));
        Assert.Equal(64, byDefault.Options.NtkBatchOn(new DartsSpace()));
        Assert.Equal(64, byDefault.Options.NtkBatchOn(Space));
        // A run keys on and reports the N it used.
        Assert.Equal(256, ((EigenSearchOptions)((ISearchStrategy)byDefault).OptionsOn(new Nb201Space())).NtkBatch);
        Assert.Equal(64, ((EigenSearchOptions)((ISearchStrategy)byDefault).OptionsOn(Space)).NtkBatch);

        var given = (EigenSearch)StrategyRegistry.Default.Create("eigen", new Settings([new("ntk-batch", "16")]));
        Assert.Equal(16, given.Options.NtkBatchOn(new Nb201Space()));
        Assert.Equal(16, given.Options.NtkBatchOn(Space));
        var e = Assert.Throws<SettingException>(() => StrategyRegistry.Default.Create("eigen", new Settings([new("ntk-batch", "1")])));
        Assert.Equal("--ntk-batch 1: the NTK batch needs at least 2 inputs.", e.Message);
    }

    [Fact]
    public void OnCellSpacesTheCaveatStatesTheMeasuredRhoOrThatNoneWasMeasured()
    {
        var standard = new EigenSearchOptions { ScoringNetwork = new NetworkOptions(), Score = EigenScore.MinEigenvalue };
        var nb201 = EigenRankings.Caveat(new Nb201Space(), standard);
        Assert.NotNull(nb201);
        // The measurement of the n = 1000 run in docs/experiments/proxies-nb201.md.
        Assert.Contains("not known to rank nb201 cells: Spearman ρ -0.228 with CIFAR-10 test accuracy (1000 sampled cells", nb201);
        Assert.DoesNotContain('\n', nb201);
        Assert.Contains("ρ -0.113", EigenRankings.Caveat(new Nb201Space(), standard with { Score = EigenScore.NormalizedMinEigenvalue }));

        var darts = EigenRankings.Caveat(new DartsSpace(), standard);
        Assert.Contains("not known to rank darts cells: it was not measured there; on nb201 it has Spearman ρ -0.228", darts);
        // Five initialisations were not measured anywhere.
        Assert.EndsWith("it was not measured there.", EigenRankings.Caveat(new Nb201Space(), standard with { NtkSeeds = 5 }));

        // The default on cell spaces is the form measured to rank nb201 cells (ρ 0.661): no caveat there, one on darts.
        var auto = standard with { Score = EigenScore.Auto };
        Assert.Equal(EigenScore.BatchNormalizedMinEigenvalue, auto.Score.On(new Nb201Space()));
        Assert.Null(EigenRankings.Caveat(new Nb201Space(), auto));
        Assert.Contains("not measured there; on nb201 it has Spearman ρ 0.661", EigenRankings.Caveat(new DartsSpace(), auto));

        // The mlp space has the analytic kernel of the theory: no caveat, and none for the theory scores.
        Assert.Equal(EigenScore.MinEigenvalue, EigenScore.Auto.On(Space));
        Assert.Null(EigenRankings.Caveat(Space, new EigenSearchOptions()));
        Assert.Null(Run().Caveat);
    }

    [Fact]
    public void RanksByTheScoreDescendingAndTrainsTheTopK()
    {
        var r = Run();
        Assert.Equal(5, r.Ranked.Count);
        Assert.Equal(r.Ranked.Select(c => c.Score).OrderByDescending(s => s), r.Ranked.Select(c => c.Score));
        Assert.Equal(r.Ranked.Take(2).Select(c => c.Index).Order(), r.Trained.Select(t => t.Index).Order());
        Assert.All(r.Ranked, c => Assert.Equal(c.Measures["lambda_min"], c.Score));
        var best = r.Trained.MaxBy(t => t.ValidationAccuracyPercent)!;
        Assert.Equal(best.Arch, r.Arch);
        // Accuracies are in %.
        Assert.InRange(best.ValidationAccuracyPercent!.Value, 1, 100);
    }

    [Fact]
    public void TheSameSeedGivesTheSameSearch()
    {
        var a = Run(3);
        var b = Run(3);
        Assert.Equal(a.Ranked.Select(c => (c.Arch, c.Score)), b.Ranked.Select(c => (c.Arch, c.Score)));
        Assert.Equal(a.Trained.Select(t => t.TestAccuracyPercent), b.Trained.Select(t => t.TestAccuracyPercent));
    }

    [Fact]
    public void NonFiniteScoresRankLastAndAreCounted()
    {
        var none = new Dictionary<string, double>();
        var scores = new[]
        {
            new ScoredCandidate(0, "a", 1.0, null, none, 0),
            new ScoredCandidate(1, "b", double.NaN, "Θ has 3 NaN entries", none, 0),
            new ScoredCandidate(2, "c", 5.0, null, none, 0),
        };
        var ranked = Candidates.Rank(scores);
        Assert.Equal(new[] { 2, 0, 1 }, ranked.Select(s => s.Index));
        Assert.False(ranked[^1].IsFinite);
    }

    /// <summary>Keeps records in memory like the store, counts what is computed, and can fail after a number of new records (a crash).</summary>
    private sealed class CrashingJournal : IRunJournal
    {
        public readonly MemoryJournal Inner = new();
        public int Recorded;
        public int FailAfter = int.MaxValue;
        public bool TryFind<T>(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out T value) => Inner.TryFind(key, out value);
        public void Record<T>(string key, T value, string? arch = null, string? space = null)
        {
            if (Recorded >= FailAfter) throw new IOException("simulated crash");
            Inner.Record(key, value, arch, space);
            Recorded++;
        }
        public IReadOnlyList<(string Key, T Value)> All<T>(string prefix) => Inner.All<T>(prefix);
    }

    [Fact]
    public void AnInterruptedSearchResumesWithoutRedoingFinishedCandidates()
    {
        var journal = new CrashingJournal { FailAfter = 3 };
        Assert.Throws<IOException>(() => Run(7, journal));
        Assert.Equal(3, journal.All<ScoredCandidate>("score/").Count);

        journal.FailAfter = int.MaxValue;
        journal.Recorded = 0;
        var resumed = Run(7, journal);
        Assert.Equal(2 + 2, journal.Recorded); // only the two unfinished candidates, then the two trainings

        var fresh = Run(7);
        Assert.Equal(fresh.Ranked.Select(c => (c.Arch, c.Score)), resumed.Ranked.Select(c => (c.Arch, c.Score)));
        Assert.Equal(fresh.Arch, resumed.Arch);
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
        // training: the trace-normalised λ_min of the kernel with BN in training mode (NtkFormTests checks that kernel
        // against finite differences of the batch function).
        Assert.True(EigenScores.TryParse("training", out var training));
        Assert.Equal(new NtkForm { BatchStatistics = true, TraceNormalized = true }, training.Form());
    }

    [Fact]
    public void TheoryScoresComeFromTheAnalyticKernelOfTheSphereProjectedBatch()
    {
        var search = new EigenSearch(new EigenSearchOptions { Candidates = 4, TopK = 0, NtkBatch = 12, Score = EigenScore.AnalyticMinEigenvalue });
        var context = new SearchContext(Space, Data(), 4);
        var inputs = search.NtkInputs(context);
        var candidates = Candidates.Sample(Space, 4, context.Seed);
        var batch = SphereBatch.From(inputs);
        foreach (var (g, i) in candidates.Select((g, i) => (g, i)))
        {
            // Independent path: the kernel of the projected batch straight from AnalyticNtk.
            double expected = AnalyticNtk.Compute((MlpGenotype)g, batch.Inputs, batch.Count, NetworkOptions.Ntk()).Spectrum().LambdaMin;
            var analytic = search.ScoreCandidate(context, i, g, inputs);
            Assert.Equal(expected, analytic.Score, 1e-12 * Math.Abs(expected));
            Assert.Equal(analytic.Score, analytic.Measures["lambda_min"]);

            var bound = new EigenSearch(search.Options with { Score = EigenScore.LowerBound }).ScoreCandidate(context, i, g, inputs);
            var complexity = new EigenSearch(search.Options with { Score = EigenScore.InverseComplexity }).ScoreCandidate(context, i, g, inputs);
            Assert.InRange(bound.Score, 0, analytic.Measures["lambda_min"]);
            // N / tr(YᵀΘ⁻¹Y) ≥ λ_min because ‖Y‖_F² = N for one-hot labels.
            Assert.True(complexity.Score >= analytic.Measures["lambda_min"] * (1 - 1e-12));
        }
        var r = search.Run(context);
        Assert.Equal(r.Ranked.Select(c => c.Score).OrderByDescending(v => v), r.Ranked.Select(c => c.Score));
    }

    [Fact]
    public void TheoryScoresNeedASpaceWithAnAnalyticKernel()
    {
        var search = new EigenSearch(new EigenSearchOptions { Candidates = 2, TopK = 0, NtkBatch = 4, Score = EigenScore.AnalyticMinEigenvalue });
        var images = new LabeledDataset("images", new float[20 * 3 * 8 * 8], [.. Enumerable.Range(0, 20).Select(i => i % 2)], [3, 8, 8], ["a", "b"]);
        var context = new SearchContext(new Nb201Space(), new ExperimentData(new DataSpec { Dataset = "cifar10" }, new DataSplits(images, images, images)), 1);
        // A usage mistake, refused by Validate before a run is stored and by Run alike.
        var e = Assert.Throws<SettingException>(() => search.Run(context));
        Assert.Contains("which the nb201 space does not have", e.Message);
        Assert.Equal(e.Message, Assert.Throws<SettingException>(() => search.Validate(context.Space, context.Data)).Message);
    }

    [Fact]
    public void TheoryScoresNeedTheNtkParameterisation()
    {
        var options = new EigenSearchOptions { Score = EigenScore.LowerBound, ScoringNetwork = new NetworkOptions() };
        var e = Assert.Throws<SettingException>(options.Validate);
        Assert.Contains("ntk", e.Message);
    }

    [Fact]
    public void GivenArchitecturesAreTheCandidatesAndScoreAsTheySampled()
    {
        // Reference: the sampled search's λ_min of the same genotypes (a candidate's network seed comes from its genotype).
        var sampled = Run(seed: 2).Ranked.ToDictionary(c => c.Arch, c => c.Score);
        var chosen = sampled.Keys.Order(StringComparer.Ordinal).Take(3).ToArray();
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(file, [.. chosen.Reverse()]);
            var given = StrategyRegistry.Default.Create("eigen", new Settings([new("archs", file), new("top-k", "0"), new("ntk-batch", "12")]))
                .Run(new SearchContext(Space, Data(), 2) { Journal = new MemoryJournal() });
            Assert.Equal(chosen, given.Ranked.Select(c => c.Arch).Order(StringComparer.Ordinal));
            foreach (var c in given.Ranked) Assert.Equal(sampled[c.Arch], c.Score);
            var tooMany = Assert.Throws<SettingException>(() => StrategyRegistry.Default.Create("eigen", new Settings([new("archs", file), new("top-k", "4")])));
            Assert.Equal("--top-k 4: must be in 0..3 (the number of candidates).", tooMany.Message);
        }
        finally { File.Delete(file); }
    }
}
