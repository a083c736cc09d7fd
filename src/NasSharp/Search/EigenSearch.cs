using System.Diagnostics;
using System.Text.Json.Serialization;
using NasSharp.Data;
using NasSharp.Kernels;
using NasSharp.Networks;
using NasSharp.Spaces;
using NasSharp.Theory;
using NasSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Search;

/// <summary>How the <c>eigen</c> strategy scores a candidate (larger is better); JSON and the command line name them alike.</summary>
public enum EigenScore
{
    /// <summary>
    /// The space's default: <see cref="BatchNormalizedMinEigenvalue"/> on cell spaces (no analytic kernel: nb201, darts),
    /// where it is the form measured to rank cells, else <see cref="MinEigenvalue"/>. CLI: <c>auto</c>.
    /// </summary>
    [JsonStringEnumMemberName("auto")]
    Auto,
    /// <summary>
    /// λ_min(Θ) of the empirical NTK at initialisation, the quantity of Zhu et al.'s generalisation bound
    /// (test error ≲ √(yᵀΘ⁻¹y/n) ≤ √(1/λ_min)). CLI: <c>empirical</c> (or <c>lambda_min</c>).
    /// </summary>
    [JsonStringEnumMemberName("empirical")]
    MinEigenvalue,
    /// <summary>λ_min / (tr Θ / N) of the empirical NTK: scale-free, so networks whose kernel is merely larger are not favoured. CLI: <c>normalized</c>.</summary>
    [JsonStringEnumMemberName("normalized")]
    NormalizedMinEigenvalue,
    /// <summary>
    /// λ_min / (tr Θ / N) of the empirical NTK with batch norm normalising by the batch's statistics held fixed
    /// (<see cref="NtkForm.FrozenBatchStatistics"/>): the form that ranks NAS-Bench-201 cells. CLI: <c>batch</c>.
    /// </summary>
    [JsonStringEnumMemberName("batch")]
    BatchNormalizedMinEigenvalue,
    /// <summary>λ_min of the infinite-width NTK (<see cref="Kernels.AnalyticNtk"/>) on the batch projected onto the sphere; no network is built. CLI: <c>analytic</c>.</summary>
    [JsonStringEnumMemberName("analytic")]
    AnalyticMinEigenvalue,
    /// <summary>The lower bound Σ_s θ_s λ_min(G^{∘s}) of that λ_min (<see cref="Theory.LambdaMinBounds"/>). CLI: <c>bound</c>.</summary>
    [JsonStringEnumMemberName("bound")]
    LowerBound,
    /// <summary>
    /// N / tr(YᵀΘ⁻¹Y) of the analytic NTK and the batch's one-hot labels, the inverse of the complexity whose square root
    /// bounds the generalisation error (<see cref="Theory.KernelComplexity"/>): larger is better, and it is ≥ λ_min. CLI: <c>complexity</c>.
    /// </summary>
    [JsonStringEnumMemberName("complexity")]
    InverseComplexity,
    /// <summary>
    /// λ_min / (tr Θ / N) of the empirical NTK with batch norm in training mode (<see cref="NtkForm.BatchStatistics"/>): Θ is
    /// the kernel of the batch function, terms through the batch's statistics included, at one backward pass per input.
    /// CLI: <c>training</c>.
    /// </summary>
    [JsonStringEnumMemberName("training")]
    TrainingModeMinEigenvalue,
}

/// <summary>The command-line names of <see cref="EigenScore"/>, one table both ways.</summary>
public static class EigenScores
{
    private static readonly (EigenScore Score, string Name)[] Table =
    [
        (EigenScore.Auto, "auto"),
        (EigenScore.MinEigenvalue, "empirical"),
        (EigenScore.NormalizedMinEigenvalue, "normalized"),
        (EigenScore.BatchNormalizedMinEigenvalue, "batch"),
        (EigenScore.TrainingModeMinEigenvalue, "training"),
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

    /// <summary>The score <see cref="EigenScore.Auto"/> stands for on <paramref name="space"/>; other scores as they are.</summary>
    public static EigenScore On(this EigenScore score, ISearchSpace space) =>
        score != EigenScore.Auto ? score
        : space is IAnalyticNtkSpace ? EigenScore.MinEigenvalue : EigenScore.BatchNormalizedMinEigenvalue;

    /// <summary>The kernel and scaling of an empirical score (not <see cref="EigenScore.Auto"/>: resolve it with <see cref="On"/>).</summary>
    public static NtkForm Form(this EigenScore score, int initializations = 1) => score switch
    {
        EigenScore.MinEigenvalue => new NtkForm { Initializations = initializations },
        EigenScore.NormalizedMinEigenvalue => new NtkForm { Initializations = initializations, TraceNormalized = true },
        EigenScore.BatchNormalizedMinEigenvalue => new NtkForm { Initializations = initializations, FrozenBatchStatistics = true, TraceNormalized = true },
        EigenScore.TrainingModeMinEigenvalue => new NtkForm { Initializations = initializations, BatchStatistics = true, TraceNormalized = true },
        _ => throw new ArgumentOutOfRangeException(nameof(score), score, "Not an empirical score with a fixed form."),
    };

    /// <summary>True for the scores computed from the infinite-width kernel rather than a built network.</summary>
    public static bool IsTheoretical(this EigenScore score) =>
        score is EigenScore.AnalyticMinEigenvalue or EigenScore.LowerBound or EigenScore.InverseComplexity;
}

public sealed record EigenSearchOptions
{
    public int Candidates { get; init; } = 20;
    /// <summary>The candidates themselves (genotypes in the space's notation), scored instead of <see cref="Candidates"/>
    /// sampled ones; absent from the run's configuration when not given.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Architectures { get; init; }
    /// <summary>How many candidates the search scores.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int CandidateCount => Architectures?.Count ?? Candidates;
    public int TopK { get; init; } = 2;
    /// <summary>Number of inputs N of the Gram matrix; null: the space's default (<see cref="NtkBatchOn"/>).</summary>
    public int? NtkBatch { get; init; }

    /// <summary>N unless the space's measurements choose another (<see cref="EigenRankings.NtkBatch"/>).</summary>
    public const int DefaultNtkBatch = 64;

    /// <summary>The N used on <paramref name="space"/>: <see cref="NtkBatch"/> if given, else the space's default.</summary>
    public int NtkBatchOn(ISearchSpace space) => NtkBatch ?? EigenRankings.NtkBatch(space) ?? DefaultNtkBatch;

    /// <summary>Initialisations averaged per candidate.</summary>
    public int NtkSeeds { get; init; } = 1;
    public EigenScore Score { get; init; } = EigenScore.Auto;
    /// <summary>Scoring uses the NTK parameterisation, whose kernel the theory describes.</summary>
    public NetworkOptions ScoringNetwork { get; init; } = NetworkOptions.Ntk();
    /// <summary>
    /// The user chose <see cref="ScoringNetwork"/>'s parameterisation. When not, a space whose networks are built in other
    /// parameterisations only (the cell spaces: their papers trained the standard one) is scored in its own.
    /// </summary>
    public bool ParameterizationGiven { get; init; }

    /// <summary>The scoring network's options on <paramref name="space"/> (see <see cref="ParameterizationGiven"/>).</summary>
    public NetworkOptions ScoringNetworkOn(ISearchSpace space) =>
        ParameterizationGiven || space.Parameterizations.Contains(ScoringNetwork.Parameterization) ? ScoringNetwork
        : ScoringNetwork with { Parameterization = space.Parameterizations[0] };
    /// <summary>Training of the top-k uses the standard parameterisation.</summary>
    public NetworkOptions TrainingNetwork { get; init; } = new();
    public TrainingOptions Training { get; init; } = new() { Epochs = 2 };

    public void Validate()
    {
        if (Candidates < 1) throw new SettingException($"--candidates {Candidates}: need at least one candidate.");
        if (Architectures is { Count: 0 }) throw new SettingException("--archs: the list has no architecture.");
        if (TopK < 0 || TopK > CandidateCount) throw new SettingException($"--top-k {TopK}: must be in 0..{CandidateCount} (the number of candidates).");
        if (NtkBatch is < 2) throw new SettingException($"--ntk-batch {NtkBatch}: the NTK batch needs at least 2 inputs.");
        if (NtkSeeds < 1) throw new SettingException($"--ntk-seeds {NtkSeeds}: need at least one NTK seed.");
        if (!Enum.IsDefined(Score)) throw new ArgumentOutOfRangeException(nameof(Score), Score, "Unknown score.");
        if (Score.IsTheoretical() && ScoringNetwork.Parameterization != Parameterization.Ntk)
            throw new SettingException($"--score {Score.Name()}: it is computed from the infinite-width NTK of the NTK parameterisation; use --parameterization ntk.");
        Training.Validate();
    }
}

/// <summary>
/// The train-free search of Zhu, Liu, Chrysos &amp; Cevher (NeurIPS 2022, arXiv 2209.07238): sample K candidates, score each by
/// λ_min of its NTK at initialisation (empirical, or from the infinite-width theory: see <see cref="EigenScore"/>), rank,
/// then train the top-k and pick the one with the best validation accuracy. Measures per candidate: λ_min, λ_max, the
/// trace and the condition number of the kernel.
/// </summary>
public sealed class EigenSearch(EigenSearchOptions options) : SearchStrategy<EigenSearchOptions>(StrategyName, options), ICandidateStrategy
{
    public const string StrategyName = "eigen";

    /// <summary>The NTK batch: <see cref="EigenSearchOptions.NtkBatchOn"/> samples of the context's batches, from its seed.</summary>
    public LabeledDataset NtkInputs(SearchContext context) => context.Data.Batches().Fixed(Options.NtkBatchOn(context.Space), context.Seed);

    /// <summary>The options with the NTK batch the space's default gives, so a run reports the N it used.</summary>
    public override EigenSearchOptions OptionsOn(ISearchSpace space) => Options with { NtkBatch = Options.NtkBatchOn(space) };

    public ScoredCandidate ScoreCandidate(SearchContext context, int index, IGenotype genotype, LabeledDataset ntkInputs)
    {
        if (Options.Score.IsTheoretical()) return ScoreFromTheory(context, index, genotype, ntkInputs);
        var clock = Stopwatch.StartNew();
        var form = Options.Score.On(context.Space).Form();
        var scoring = Options.ScoringNetworkOn(context.Space);
        double sumMin = 0, sumMax = 0, sumTrace = 0, sumCond = 0, sumScore = 0;
        string? reason = null;
        for (int s = 0; s < Options.NtkSeeds; s++)
        {
            using var scope = torch.NewDisposeScope();
            long seed = Seeds.Derive(context.Seed, "ntk-init", genotype.Canonical, s);
            using var model = context.Space.BuildNetwork(genotype, ntkInputs.SampleShape, ntkInputs.NumClasses, scoring, seed, context.Device);
            // Batch norm with running statistics (or the batch's, held fixed) keeps the rows of J per-sample derivatives
            // (train-mode BN couples the samples).
            var (x, _) = ntkInputs.ToTensors(context.Device);
            var spectrum = form.Gram(model, x.to(scoring.DType), seed).Spectrum();
            if (!spectrum.IsFinite) reason ??= spectrum.NonFiniteReason;
            sumMin += spectrum.LambdaMin;
            sumMax += spectrum.LambdaMax;
            sumTrace += spectrum.Trace;
            sumCond += spectrum.Condition;
            sumScore += form.Score(spectrum);
        }
        int k = Options.NtkSeeds;
        return Candidate(index, genotype, sumScore / k, sumMin / k, sumMax / k, sumTrace / k, sumCond / k, reason, clock.Elapsed.TotalSeconds);
    }

    private (LabeledDataset Source, SphereBatch Batch)? theoryBatch;

    /// <summary>
    /// A theory score: deterministic, so the NTK seeds play no part. The λ measures are those of the analytic NTK (one
    /// logit) on the batch projected onto the sphere ‖x‖² = d.
    /// </summary>
    private ScoredCandidate ScoreFromTheory(SearchContext context, int index, IGenotype genotype, LabeledDataset ntkInputs)
    {
        var clock = Stopwatch.StartNew();
        if (context.Space is not IAnalyticNtkSpace analytic)
            throw new NotSupportedException($"The {Options.Score.Name()} score needs the infinite-width kernel of the genotype, which the {context.Space.SpaceName} space does not have (the mlp space does).");
        if (theoryBatch is not { } cached || !ReferenceEquals(cached.Source, ntkInputs))
            theoryBatch = cached = (ntkInputs, SphereBatch.From(ntkInputs));
        var r = analytic.Analyze(genotype, cached.Batch, Options.ScoringNetwork);
        double score = Options.Score switch
        {
            EigenScore.AnalyticMinEigenvalue => r.LambdaMin,
            EigenScore.LowerBound => r.LowerBound,
            EigenScore.InverseComplexity => r.InverseComplexity,
            _ => throw new ArgumentOutOfRangeException(nameof(Options.Score)),
        };
        double condition = !r.IsFinite ? double.NaN : r.LambdaMin > 0 ? r.LambdaMax / r.LambdaMin : double.PositiveInfinity;
        return Candidate(index, genotype, r.IsFinite ? score : double.NaN, r.LambdaMin, r.LambdaMax, r.Trace, condition, r.NonFiniteReason, clock.Elapsed.TotalSeconds);
    }

    private static ScoredCandidate Candidate(int index, IGenotype genotype, double score, double lambdaMin, double lambdaMax, double trace, double condition,
        string? reason, double seconds) =>
        new(index, genotype.Canonical, score, reason ?? (double.IsFinite(score) ? null : $"the score is {score}"),
            new Dictionary<string, double> { ["lambda_min"] = lambdaMin, ["lambda_max"] = lambdaMax, ["trace"] = trace, ["condition"] = condition },
            seconds);

    public override void Validate(ISearchSpace space, ExperimentData data)
    {
        ArgumentNullException.ThrowIfNull(space);
        ArgumentNullException.ThrowIfNull(data);
        Options.Validate();
        Search.Candidates.Given(space, Options.Architectures);
        if (Options.Score.IsTheoretical() && space is not IAnalyticNtkSpace)
            throw new SettingException($"--score {Options.Score.Name()}: it needs the infinite-width kernel of the genotype, which the {space.SpaceName} space does not have (the mlp space does).");
        var scoring = Options.ScoringNetworkOn(space);
        if (!Options.Score.IsTheoretical() && space.CheckInput(data.SampleShape, scoring) is { } problem)
            throw new SettingException($"--strategy eigen on {space.SpaceName}: {problem}" +
                (scoring.Parameterization == Parameterization.Ntk ? "; score in the standard one with --parameterization standard." : "."));
    }

    public ICandidateScorer CandidateScorer(SearchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var ntkInputs = NtkInputs(context);
        return new Scorer((i, g) => ScoreCandidate(context, i, g, ntkInputs));
    }

    private sealed class Scorer(Func<int, IGenotype, ScoredCandidate> score) : ICandidateScorer
    {
        public ScoredCandidate Score(int index, IGenotype genotype) => score(index, genotype);
        public void Dispose() { }
    }

    public override SearchOutcome Run(SearchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Validate(context.Space, context.Data);
        var clock = Stopwatch.StartNew();
        var candidates = Search.Candidates.Given(context.Space, Options.Architectures) ?? Search.Candidates.Sample(context.Space, Options.Candidates, context.Seed);
        using var scorer = CandidateScorer(context);
        var (ranked, scoring) = Search.Candidates.Score(context, candidates, scorer.Score);
        var (trained, best, training) = Search.Candidates.TrainTop(context, candidates, ranked, Options.TopK, Options.TrainingNetwork, Options.Training);
        return new SearchOutcome(Name, best)
        {
            Caveat = EigenRankings.Caveat(context.Space, Options),
            Ranked = ranked, Trained = trained, ScoringSeconds = scoring, TrainingSeconds = training, SearchSeconds = clock.Elapsed.TotalSeconds,
        };
    }
}
