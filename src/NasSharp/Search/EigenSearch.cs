using System.Diagnostics;
using NasSharp.Data;
using NasSharp.Kernels;
using NasSharp.Networks;
using NasSharp.Spaces;
using NasSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Search;

/// <summary>How the <c>eigen</c> strategy turns an NTK spectrum into a score (larger is better).</summary>
public enum EigenScore
{
    /// <summary>λ_min(Θ) itself, the quantity of seed 000's generalisation bound (test error ≲ √(yᵀΘ⁻¹y/n) ≤ √(1/λ_min)).</summary>
    MinEigenvalue,
    /// <summary>λ_min / (tr Θ / N): scale-free, so networks whose kernel is merely larger are not favoured.</summary>
    NormalizedMinEigenvalue,
}

public sealed record EigenSearchOptions
{
    public int Candidates { get; init; } = 20;
    public int TopK { get; init; } = 2;
    /// <summary>Number of inputs N of the Gram matrix.</summary>
    public int NtkBatch { get; init; } = 64;
    /// <summary>Initialisations averaged per candidate.</summary>
    public int NtkSeeds { get; init; } = 1;
    public EigenScore Score { get; init; } = EigenScore.MinEigenvalue;
    /// <summary>Scoring uses the NTK parameterisation, whose kernel the theory describes.</summary>
    public NetworkOptions ScoringNetwork { get; init; } = NetworkOptions.Ntk();
    /// <summary>Training of the top-k uses the standard parameterisation.</summary>
    public NetworkOptions TrainingNetwork { get; init; } = new();
    public TrainingOptions Training { get; init; } = new() { Epochs = 2 };
    public long Seed { get; init; }

    public void Validate()
    {
        if (Candidates < 1) throw new ArgumentOutOfRangeException(nameof(Candidates), Candidates, "Need at least one candidate.");
        if (TopK < 0 || TopK > Candidates) throw new ArgumentOutOfRangeException(nameof(TopK), TopK, $"top-k must be in 0..{Candidates} (the number of candidates).");
        if (NtkBatch < 2) throw new ArgumentOutOfRangeException(nameof(NtkBatch), NtkBatch, "The NTK batch needs at least 2 inputs.");
        if (NtkSeeds < 1) throw new ArgumentOutOfRangeException(nameof(NtkSeeds), NtkSeeds, "Need at least one NTK seed.");
        Training.Validate();
    }
}

/// <summary>One candidate's NTK measurements at initialisation (averaged over the NTK seeds).</summary>
public sealed record CandidateScore(
    int Index, string Arch, double Score, double LambdaMin, double LambdaMax, double Trace, double Condition,
    string? NonFiniteReason, double Seconds)
{
    public bool IsFinite => NonFiniteReason is null && double.IsFinite(Score);
}

public sealed record TrainedCandidate(int Index, string Arch, double? ValidationAccuracy, double? TestAccuracy, bool Diverged, double Seconds);

public sealed record EigenSearchResult(
    IReadOnlyList<CandidateScore> Ranked,
    IReadOnlyList<TrainedCandidate> Trained,
    CandidateScore? Best,
    TrainedCandidate? BestTrained,
    double ScoringSeconds,
    double TrainingSeconds);

/// <summary>
/// Where a search records finished work and finds it again on resume: a candidate scored or trained is
/// never computed twice. <see cref="NullSearchJournal"/> keeps nothing.
/// </summary>
public interface ISearchJournal
{
    CandidateScore? FindScore(int index, string arch);
    void RecordScore(CandidateScore score);
    TrainedCandidate? FindTraining(int index, string arch);
    void RecordTraining(TrainedCandidate trained);
}

public sealed class NullSearchJournal : ISearchJournal
{
    public static NullSearchJournal Instance { get; } = new();
    public CandidateScore? FindScore(int index, string arch) => null;
    public void RecordScore(CandidateScore score) { }
    public TrainedCandidate? FindTraining(int index, string arch) => null;
    public void RecordTraining(TrainedCandidate trained) { }
}

/// <summary>Progress of a search phase (scoring or training): items done of total, and the current one.</summary>
public readonly record struct SearchProgress(string Phase, int Done, int Total, string Arch);

/// <summary>
/// Train-free search of seed 000: sample K candidates, score each by λ_min of its empirical NTK at
/// initialisation, rank, then train the top-k and pick the one with the best validation accuracy.
/// </summary>
public sealed class EigenSearch(ISearchSpace space, EigenSearchOptions options)
{
    public ISearchSpace Space { get; } = space;
    public EigenSearchOptions Options { get; } = options;

    /// <summary>K distinct genotypes, sampled from the run's seed.</summary>
    public IReadOnlyList<IGenotype> SampleCandidates()
    {
        Options.Validate();
        if (Space.Count < Options.Candidates)
            throw new ArgumentException($"The space has only {Space.Count} genotypes; ask for at most that many candidates.");
        var rng = Seeds.Rng(Options.Seed, "candidates");
        var seen = new HashSet<string>();
        var list = new List<IGenotype>();
        while (list.Count < Options.Candidates)
        {
            var g = Space.Sample(rng);
            if (seen.Add(g.Canonical)) list.Add(g);
        }
        return list;
    }

    /// <summary>The NTK batch: a seeded random subset of the training split.</summary>
    public LabeledDataset NtkInputs(LabeledDataset train) => NtkInputs(train, Options.NtkBatch, Options.Seed);

    /// <summary>N training samples drawn without replacement from the seed's "ntk-batch" stream.</summary>
    public static LabeledDataset NtkInputs(LabeledDataset train, int n, long seed)
    {
        if (train.Count < n)
            throw new ArgumentException($"The training split has {train.Count} samples, fewer than the NTK batch of {n}.");
        var idx = Enumerable.Range(0, train.Count).ToArray();
        Seeds.Rng(seed, "ntk-batch").Shuffle(idx);
        return train.Subset(idx[..n]);
    }

    public CandidateScore ScoreCandidate(int index, IGenotype genotype, LabeledDataset ntkInputs, Device device)
    {
        var clock = Stopwatch.StartNew();
        double sumMin = 0, sumMax = 0, sumTrace = 0, sumCond = 0, sumScore = 0;
        string? reason = null;
        for (int s = 0; s < Options.NtkSeeds; s++)
        {
            using var scope = torch.NewDisposeScope();
            long seed = Seeds.Derive(Options.Seed, "ntk-init", genotype.Canonical, s);
            using var model = NetworkFactory.Build(genotype, ntkInputs.SampleShape, ntkInputs.NumClasses, Options.ScoringNetwork, seed, device);
            var (x, _) = ntkInputs.ToTensors(device);
            var spectrum = EmpiricalNtk.Compute(model, x.to(Options.ScoringNetwork.DType), NtkOutput.SumOfLogits, NtkMethod.Auto).Spectrum();
            if (!spectrum.IsFinite) reason ??= spectrum.NonFiniteReason;
            sumMin += spectrum.LambdaMin;
            sumMax += spectrum.LambdaMax;
            sumTrace += spectrum.Trace;
            sumCond += spectrum.Condition;
            sumScore += Options.Score switch
            {
                EigenScore.MinEigenvalue => spectrum.LambdaMin,
                EigenScore.NormalizedMinEigenvalue => spectrum.LambdaMin / (spectrum.Trace / ntkInputs.Count),
                _ => throw new ArgumentOutOfRangeException(nameof(Options.Score)),
            };
        }
        int k = Options.NtkSeeds;
        return new CandidateScore(index, genotype.Canonical, sumScore / k, sumMin / k, sumMax / k, sumTrace / k, sumCond / k,
            reason, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Finite scores descending (ties by candidate index), then every non-finite one.</summary>
    public static IReadOnlyList<CandidateScore> Rank(IEnumerable<CandidateScore> scores) =>
        scores.OrderBy(s => s.IsFinite ? 0 : 1)
              .ThenByDescending(s => s.IsFinite ? s.Score : 0)
              .ThenBy(s => s.Index)
              .ToList();

    public EigenSearchResult Run(
        DataSplits data,
        Device? device = null,
        ISearchJournal? journal = null,
        IProgress<SearchProgress>? progress = null,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        device ??= CPU;
        journal ??= NullSearchJournal.Instance;
        var candidates = SampleCandidates();
        var ntkInputs = NtkInputs(data.Train);

        var scoring = Stopwatch.StartNew();
        var scores = new List<CandidateScore>();
        for (int i = 0; i < candidates.Count; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            var g = candidates[i];
            var score = journal.FindScore(i, g.Canonical);
            if (score is null)
            {
                score = ScoreCandidate(i, g, ntkInputs, device);
                journal.RecordScore(score);
            }
            scores.Add(score);
            progress?.Report(new SearchProgress("scoring", i + 1, candidates.Count, g.Canonical));
        }
        scoring.Stop();
        var ranked = Rank(scores);

        var training = Stopwatch.StartNew();
        var trained = new List<TrainedCandidate>();
        var top = ranked.Where(s => s.IsFinite).Take(Options.TopK).ToList();
        foreach (var (s, n) in top.Select((s, n) => (s, n)))
        {
            cancellation.ThrowIfCancellationRequested();
            var t = journal.FindTraining(s.Index, s.Arch);
            if (t is null)
            {
                t = TrainCandidate(s.Index, candidates[s.Index], data, device, cancellation);
                journal.RecordTraining(t);
            }
            trained.Add(t);
            progress?.Report(new SearchProgress("training", n + 1, top.Count, s.Arch));
        }
        training.Stop();

        // The winner is chosen on validation accuracy; its test accuracy is only reported.
        var bestTrained = trained.Where(t => t.ValidationAccuracy is not null)
                                 .OrderByDescending(t => t.ValidationAccuracy).ThenBy(t => t.Index).FirstOrDefault();
        var best = bestTrained is null ? ranked.FirstOrDefault(s => s.IsFinite) : ranked.First(s => s.Index == bestTrained.Index);
        return new EigenSearchResult(ranked, trained, best, bestTrained, scoring.Elapsed.TotalSeconds, training.Elapsed.TotalSeconds);
    }

    private TrainedCandidate TrainCandidate(int index, IGenotype genotype, DataSplits data, Device device, CancellationToken cancellation)
    {
        using var scope = torch.NewDisposeScope();
        long seed = Seeds.Derive(Options.Seed, "train-init", genotype.Canonical);
        using var model = NetworkFactory.Build(genotype, data.Train.SampleShape, data.Train.NumClasses, Options.TrainingNetwork, seed, device);
        var training = Options.Training with { Seed = Seeds.Derive(Options.Seed, "train-order", genotype.Canonical) };
        var r = Trainer.Fit(model, data.Train, data.Validation, data.Test, training, device, null, cancellation);
        return new TrainedCandidate(index, genotype.Canonical, r.ValidationAccuracy, r.TestAccuracy, r.Diverged, r.Seconds);
    }
}
