using System.Diagnostics;
using NasSharp.Data;
using NasSharp.Kernels;
using NasSharp.Networks;
using NasSharp.Spaces;
using NasSharp.Theory;
using NasSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Search;

/// <summary>How the <c>eigen</c> strategy scores a candidate (larger is better).</summary>
public enum EigenScore
{
    /// <summary>
    /// λ_min(Θ) of the empirical NTK at initialisation, the quantity of seed 000's generalisation bound
    /// (test error ≲ √(yᵀΘ⁻¹y/n) ≤ √(1/λ_min)). CLI: <c>empirical</c> (or <c>lambda_min</c>).
    /// </summary>
    MinEigenvalue,
    /// <summary>λ_min / (tr Θ / N) of the empirical NTK: scale-free, so networks whose kernel is merely larger are not favoured. CLI: <c>normalized</c>.</summary>
    NormalizedMinEigenvalue,
    /// <summary>λ_min of the infinite-width NTK (<see cref="Kernels.AnalyticNtk"/>) on the batch projected onto the sphere; no network is built. CLI: <c>analytic</c>.</summary>
    AnalyticMinEigenvalue,
    /// <summary>The lower bound Σ_s θ_s λ_min(G^{∘s}) of that λ_min (<see cref="Theory.LambdaMinBounds"/>). CLI: <c>bound</c>.</summary>
    LowerBound,
    /// <summary>
    /// N / tr(YᵀΘ⁻¹Y) of the analytic NTK and the batch's one-hot labels, the inverse of the complexity whose square root
    /// bounds the generalisation error (<see cref="Theory.KernelComplexity"/>): larger is better, and it is ≥ λ_min. CLI: <c>complexity</c>.
    /// </summary>
    InverseComplexity,
}

/// <summary>The command-line names of <see cref="EigenScore"/>, one table both ways.</summary>
public static class EigenScores
{
    private static readonly (EigenScore Score, string Name)[] Table =
    [
        (EigenScore.MinEigenvalue, "empirical"),
        (EigenScore.NormalizedMinEigenvalue, "normalized"),
        (EigenScore.AnalyticMinEigenvalue, "analytic"),
        (EigenScore.LowerBound, "bound"),
        (EigenScore.InverseComplexity, "complexity"),
    ];

    public static string KnownNames => string.Join("|", Table.Select(t => t.Name));

    public static string Name(this EigenScore score) => Table.First(t => t.Score == score).Name;

    /// <summary>Parses a score name; <c>lambda_min</c> is kept as an alias of <c>empirical</c>.</summary>
    public static bool TryParse(string name, out EigenScore score)
    {
        if (name == "lambda_min") name = "empirical";
        foreach (var (s, n) in Table)
            if (n == name) { score = s; return true; }
        score = default;
        return false;
    }

    /// <summary>True for the scores computed from the infinite-width kernel rather than a built network.</summary>
    public static bool IsTheoretical(this EigenScore score) =>
        score is EigenScore.AnalyticMinEigenvalue or EigenScore.LowerBound or EigenScore.InverseComplexity;
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
        if (!Enum.IsDefined(Score)) throw new ArgumentOutOfRangeException(nameof(Score), Score, "Unknown score.");
        if (Score.IsTheoretical() && ScoringNetwork.Parameterization != Parameterization.Ntk)
            throw new ArgumentException($"The {Score.Name()} score is computed from the infinite-width NTK of the NTK parameterisation; use --parameterization ntk.");
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
/// Train-free search of seed 000: sample K candidates, score each by λ_min of its NTK at initialisation (empirical,
/// or from the infinite-width theory: see <see cref="EigenScore"/>), rank, then train the top-k and pick the one with
/// the best validation accuracy.
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
        if (Options.Score.IsTheoretical()) return ScoreFromTheory(index, genotype, ntkInputs);
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

    private (LabeledDataset Source, SphereBatch Batch)? theoryBatch;

    /// <summary>
    /// A theory score: deterministic, so the NTK seeds play no part. The λ fields of the result are those of the
    /// analytic NTK (one logit) on the batch projected onto the sphere ‖x‖² = d.
    /// </summary>
    private CandidateScore ScoreFromTheory(int index, IGenotype genotype, LabeledDataset ntkInputs)
    {
        var clock = Stopwatch.StartNew();
        if (genotype is not MlpGenotype mlp)
            throw new NotSupportedException($"The {Options.Score.Name()} score needs the infinite-width kernel of the genotype, which exists for the mlp space only; '{genotype.Space}' is not supported.");
        if (theoryBatch is not { } cached || !ReferenceEquals(cached.Source, ntkInputs))
            theoryBatch = cached = (ntkInputs, SphereBatch.From(ntkInputs));
        var r = NtkTheory.Analyze(mlp, cached.Batch, Options.ScoringNetwork);
        double score = Options.Score switch
        {
            EigenScore.AnalyticMinEigenvalue => r.LambdaMin,
            EigenScore.LowerBound => r.LowerBound,
            EigenScore.InverseComplexity => r.InverseComplexity,
            _ => throw new ArgumentOutOfRangeException(nameof(Options.Score)),
        };
        double condition = !r.IsFinite ? double.NaN : r.LambdaMin > 0 ? r.LambdaMax / r.LambdaMin : double.PositiveInfinity;
        return new CandidateScore(index, genotype.Canonical, r.IsFinite ? score : double.NaN, r.LambdaMin, r.LambdaMax, r.Trace, condition,
            r.NonFiniteReason, clock.Elapsed.TotalSeconds);
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
