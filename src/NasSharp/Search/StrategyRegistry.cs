using NasSharp.Networks;
using NasSharp.Proxies;
using NasSharp.Search.Bilevel;
using NasSharp.Search.Nasi;
using NasSharp.Training;

namespace NasSharp.Search;

/// <summary>How to make a strategy from settings: its name, one line on what it does, its settings, and its factory.</summary>
public sealed record StrategyDefinition(string Name, string Summary, IReadOnlyList<SettingSpec> Settings, Func<Settings, ISearchStrategy> Create)
{
    /// <summary>The strategy of <paramref name="settings"/>; a setting of another strategy is an error.</summary>
    public ISearchStrategy CreateFrom(Settings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.RequireOnly(Settings, $"--strategy {Name}");
        return Create(settings);
    }
}

/// <summary>The search strategies, in one explicit table: the only place that maps a strategy name to a strategy.</summary>
public sealed class StrategyRegistry(IEnumerable<StrategyDefinition> definitions)
{
    private readonly IReadOnlyList<StrategyDefinition> definitions = [.. definitions];

    public IReadOnlyList<StrategyDefinition> Definitions => definitions;

    public IEnumerable<string> Names => definitions.Select(d => d.Name);

    public StrategyDefinition Get(string name) =>
        definitions.FirstOrDefault(d => d.Name == name)
        ?? throw new SettingException($"--strategy {name}: unknown strategy; known: {string.Join(", ", Names)}{Spelling.Suggestion(name, Names)}.");

    public ISearchStrategy Create(string name, Settings? settings = null) => Get(name).CreateFrom(settings ?? Settings.Empty);

    /// <summary>Every strategy's settings, one per name (see <see cref="Spaces.SpaceRegistry.MergeSettings"/>).</summary>
    public IReadOnlyList<SettingSpec> AllSettings() => Spaces.SpaceRegistry.MergeSettings(definitions.Select(d => (d.Name, d.Settings)));

    /// <summary>The setting of a strategy that scores candidates: the user's own instead of sampled ones.</summary>
    private static SettingSpec ArchsSetting { get; } =
        new("archs", "a file of the candidates to score instead of sampled ones: one genotype per line (blank lines and lines starting with # skipped)");

    /// <summary>The architectures of <c>--archs</c>, or null; with <c>--candidates</c> too, an error.</summary>
    private static IReadOnlyList<string>? ArchitecturesOf(Settings settings) =>
        settings.Text("archs") is not { } file ? null
        : settings.IsGiven("candidates") ? throw new SettingException("--archs and --candidates: give one (the file's architectures, or K sampled ones).")
        : Search.Candidates.ReadFile(file);

    public static StrategyDefinition Eigen { get; } = new(EigenSearch.StrategyName,
        "rank K sampled candidates by λ_min of the NTK at initialisation (Zhu et al., NeurIPS 2022), train the top-k",
        [
            new("candidates", "number of sampled candidates K", "20"),
            ArchsSetting,
            new("top-k", "how many of the best-scored candidates to train", "2"),
            new("ntk-batch", $"inputs N of the NTK Gram matrix ({EigenRankings.Nb201NtkBatch} on nb201, where a larger N ranks better: about 6 GB resident)", $"{EigenSearchOptions.DefaultNtkBatch}"),
            new("ntk-seeds", "initialisations averaged per candidate", "1"),
            new("score", $"{EigenScores.KnownNames}: batch on cell spaces, else empirical; λ_min of the empirical NTK (alias lambda_min), its λ_min/(tr Θ/N), that with BN normalising by the batch's statistics, that with BN in training mode, λ_min of the infinite-width NTK, its lower bound, N/yᵀΘ⁻¹y", "auto"),
            .. NetworkSettings.Specs(Parameterization.Ntk).Select(s => s.Name != "parameterization" ? s
                : s with { Description = s.Description + "; unless given, spaces built in the standard one only (nb201, darts) are scored in it" }),
            .. TrainingSettings.Specs(2),
        ],
        settings =>
        {
            var options = new EigenSearchOptions
            {
                Candidates = settings.Int("candidates", 20),
                Architectures = ArchitecturesOf(settings),
                TopK = settings.Int("top-k", 2),
                NtkBatch = settings.IsGiven("ntk-batch") ? settings.Int("ntk-batch", EigenSearchOptions.DefaultNtkBatch) : null,
                NtkSeeds = settings.Int("ntk-seeds", 1),
                Score = settings.Text("score") is not { } s ? EigenScore.Auto
                    : EigenScores.TryParse(s, out var parsed) ? parsed
                    : throw new SettingException($"--score {s}: use {EigenScores.KnownNames} (lambda_min is an alias of empirical)."),
                ScoringNetwork = NetworkSettings.Read(settings, Parameterization.Ntk),
                ParameterizationGiven = settings.IsGiven("parameterization"),
                Training = TrainingSettings.Read(settings, 2),
            };
            options.Validate();
            return new EigenSearch(options);
        });

    public static StrategyDefinition Proxy { get; } = new(ProxySearch.StrategyName,
        "the best of K sampled candidates by a zero-cost proxy at initialisation (e.g. naswot)",
        [
            new("proxy", $"the proxy: {string.Join(", ", ProxyRegistry.Names)}; or an aggregate ranking the candidates against each other: {string.Join(", ", ProxyAggregates.Names)}", "naswot"),
            new("candidates", "number of sampled candidates K", "100"),
            ArchsSetting,
            new("top-k", "how many of the best-scored candidates to train (0: keep the best score)", "0"),
            new("batch", "samples of the batch every candidate is scored on", "64"),
            new("proxy-seeds", "evaluations averaged per candidate, each on its own batch and initialisation", "1"),
            .. TrainingSettings.Specs(2),
        ],
        settings =>
        {
            var options = new ProxySearchOptions
            {
                Proxy = settings.Text("proxy") ?? "naswot",
                Candidates = settings.Int("candidates", 100),
                Architectures = ArchitecturesOf(settings),
                TopK = settings.Int("top-k", 0),
                Batch = settings.Int("batch", 64),
                Seeds = settings.Int("proxy-seeds", 1),
                Training = TrainingSettings.Read(settings, 2),
            };
            try { options.Validate(); }
            catch (ArgumentException e) when (e is not SettingException) { throw new SettingException($"--proxy {options.Proxy}: {e.Message.Split(" (Parameter")[0]}"); }
            return new ProxySearch(options);
        });

    public static StrategyDefinition Random { get; } = new(RandomSearch.StrategyName,
        "random search: sample candidates, train each briefly, keep the best on validation accuracy",
        [
            new("candidates", "number of sampled candidates (with --budget, the most it trains)", "10"),
            new("budget", "stop once the trainings took this many seconds (at least one is trained)"),
            .. TrainingSettings.Specs(1),
        ],
        settings =>
        {
            var options = new RandomSearchOptions
            {
                Candidates = settings.Int("candidates", 10),
                BudgetSeconds = settings.IsGiven("budget") ? settings.Double("budget", 0) : null,
                Training = TrainingSettings.Read(settings, 1),
            };
            options.Validate();
            return new RandomSearch(options);
        });

    public static StrategyDefinition Nasi { get; } = new(NasiStrategy.StrategyName,
        "NASI: one-shot search of the space's relaxed supernet by the NTK trace norm at initialisation (Shu et al., ICLR 2022)",
        [
            new("steps", "T, the number of Gumbel samples", "100"),
            new("batch", "b, the batch of the trace-norm approximation", "64"),
            new("mu", "μ, the penalty slope above ν", "2"),
            new("nu", "fixed ν (NASI-FIX)", "100"),
            new("nu-adaptive", "adaptive ν starting at this value (NASI-ADA, e.g. 500)"),
            new("xi", "ξ, the step size of Δ*", "1"),
            new("tau", "the Gumbel-softmax temperature τ", "10"),
            new("gumbel", "soft (mix every operation with its Gumbel-softmax weight) or hard (straight-through: the forward pass is the sampled discrete architecture)", "soft"),
            new("parameterization", "the supernet's parameterisation: ntk (the paper's) or standard", "standard"),
            new("alpha-gradient", "how ∇_α of the trace norm is computed: exact (double backward) or finite-difference (a central-difference Hessian-vector product with the ReLUs' activation pattern held at θ's: three ordinary passes, 0.4 of the memory)", "exact"),
            new("fd-step", "finite-difference: the length ‖εv‖ of the difference's step in the weights", "0.01"),
        ],
        settings =>
        {
            if (settings.IsGiven("nu") && settings.IsGiven("nu-adaptive"))
                throw new SettingException("--nu and --nu-adaptive: use either a fixed ν or an adaptive one from ν₀, not both.");
            var defaults = new NasiOptions();
            var options = new NasiOptions
            {
                Steps = settings.Int("steps", defaults.Steps),
                BatchSize = settings.Int("batch", defaults.BatchSize),
                Mu = settings.Double("mu", defaults.Mu),
                Nu = settings.IsGiven("nu-adaptive") ? settings.Double("nu-adaptive", 500) : settings.Double("nu", defaults.Nu),
                AdaptiveNu = settings.IsGiven("nu-adaptive"),
                Xi = settings.Double("xi", defaults.Xi),
                Temperature = settings.Double("tau", defaults.Temperature),
                Hard = settings.Choice("gumbel", defaults.Hard, ("soft", false), ("hard", true)),
                Parameterization = NetworkSettings.ReadParameterization(settings, defaults.Parameterization),
                AlphaGradient = settings.Choice("alpha-gradient", defaults.AlphaGradient, ("exact", AlphaGradient.Exact), ("finite-difference", AlphaGradient.FiniteDifference)),
                FiniteDifferenceStep = settings.Double("fd-step", defaults.FiniteDifferenceStep),
            };
            options.Validate();
            return new NasiStrategy(options);
        });

    /// <summary>The sample sizes every train–validation strategy takes (bilevel, mkl, spectral).</summary>
    private static SettingSpec[] SplitSpecs(int train, int validation) =>
    [
        new("train-points", "n_T, samples of the training split the lower level fits (at most --train-size)", train.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("val-points", "n_V, samples of the validation split the upper level fits (at most --val-size)", validation.ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ];

    public static StrategyDefinition Mkl { get; } = new(MklStrategy.StrategyName,
        "multiple kernel learning over the relaxation's architectures: kernel ridge on the training split with K_α = Σ α_i K_i (analytic NTKs), α by the closed-form validation hypergradient (Oymak et al., ICML 2021)",
        [
            .. SplitSpecs(500, 250),
            new("steps", "exponentiated-gradient steps on the simplex", "100"),
            new("step-size", "η, the largest change of a log-weight per step", "0.5"),
            new("ridge", "λ of the kernel ridge regression (kernels scaled to mean diagonal 1)", "0.001"),
            new("sigma-w", "σ_w of the NTK parameterisation", "1"),
            new("sigma-b", "σ_b of the NTK parameterisation", "0.1"),
        ],
        settings =>
        {
            var defaults = new MklOptions();
            var options = new MklOptions
            {
                TrainPoints = settings.Int("train-points", defaults.TrainPoints),
                ValPoints = settings.Int("val-points", defaults.ValPoints),
                Steps = settings.Int("steps", defaults.Steps),
                StepSize = settings.Double("step-size", defaults.StepSize),
                Ridge = settings.Double("ridge", defaults.Ridge),
                SigmaW = settings.Double("sigma-w", defaults.SigmaW),
                SigmaB = settings.Double("sigma-b", defaults.SigmaB),
            };
            options.Validate();
            return new MklStrategy(options);
        });

    public static StrategyDefinition Spectral { get; } = new(SpectralStrategy.StrategyName,
        "low-rank view: f(x) = Σ α_i ⟨θ, φ_i(x)⟩ over the relaxation's architectures as rank-one matrix regression; spectral estimate, then alternating least squares (Oymak et al., ICML 2021)",
        [
            .. SplitSpecs(500, 250),
            new("features", "p, the outputs of each candidate's network at initialisation used as its features", "64"),
            new("method", "spectral, spectral-als (alternating least squares from the spectral estimate) or gd (gradient descent, the baseline)", "spectral-als"),
            new("iterations", "alternating least-squares iterations", "20"),
            new("lr", "gd: step size η (divided by the mean squared feature norm)", "0.5"),
            new("gd-steps", "gd: steps", "2000"),
        ],
        settings =>
        {
            var defaults = new SpectralOptions();
            var options = new SpectralOptions
            {
                TrainPoints = settings.Int("train-points", defaults.TrainPoints),
                ValPoints = settings.Int("val-points", defaults.ValPoints),
                Features = settings.Int("features", defaults.Features),
                Method = settings.Choice("method", defaults.Method, ("spectral", RankOneMethod.Spectral), ("spectral-als", RankOneMethod.SpectralAls), ("gd", RankOneMethod.GradientDescent)),
                Iterations = settings.Int("iterations", defaults.Iterations),
                LearningRate = settings.Double("lr", defaults.LearningRate),
                GdSteps = settings.Int("gd-steps", defaults.GdSteps),
            };
            options.Validate();
            return new SpectralStrategy(options);
        });

    public static StrategyDefinition Bilevel { get; } = new(BilevelStrategy.StrategyName,
        "differentiable train–validation bilevel search of the space's relaxed supernet: weights by gradient descent on the training split, α by the validation hypergradient, first or second order (DARTS; Oymak et al., ICML 2021)",
        [
            .. SplitSpecs(500, 250),
            new("steps", "outer steps (each: the weight steps, then one α step)", "100"),
            new("inner-steps", "full-batch weight steps on the training sample per outer step", "5"),
            new("warmup-steps", "full-batch weight steps at uniform α before the first α step", "0"),
            new("weight-lr", "learning rate of the weights (also ξ of the unrolled step)", "0.1"),
            new("weight-momentum", "heavy-ball momentum of the weight steps (0: plain gradient descent)", "0"),
            new("alpha-lr", "learning rate of α's Adam steps (about the largest change of a logit per step)", "0.1"),
            new("order", "first (∇_α L_val at the current weights), second (one unrolled weight step, finite-difference Hessian-vector product) or implicit (the implicit-function hypergradient at the fitted weights, H⁻¹v by MINRES)", "first"),
            new("solver-iterations", "implicit: MINRES iterations of the least-squares solve of H q = ∇_w L_val", "20"),
            new("select-by", "validation (the bilevel search) or training (the baseline: α follows the training loss)", "validation"),
            new("calibrate-upper", "judge α by the upper loss of the output times its loss-minimising scalar (a temperature for cross-entropy), so α gains nothing by shrinking the outputs", IsFlag: true),
        ],
        settings =>
        {
            var defaults = new BilevelOptions();
            var options = new BilevelOptions
            {
                TrainPoints = settings.Int("train-points", defaults.TrainPoints),
                ValPoints = settings.Int("val-points", defaults.ValPoints),
                Steps = settings.Int("steps", defaults.Steps),
                InnerSteps = settings.Int("inner-steps", defaults.InnerSteps),
                WarmupSteps = settings.Int("warmup-steps", defaults.WarmupSteps),
                WeightLr = settings.Double("weight-lr", defaults.WeightLr),
                Momentum = settings.Double("weight-momentum", defaults.Momentum),
                AlphaLr = settings.Double("alpha-lr", defaults.AlphaLr),
                Order = settings.Choice("order", defaults.Order, ("first", HypergradientOrder.First), ("second", HypergradientOrder.Second), ("implicit", HypergradientOrder.Implicit)),
                SolverIterations = settings.Int("solver-iterations", defaults.SolverIterations),
                Upper = settings.Choice("select-by", defaults.Upper, ("validation", UpperSplit.Validation), ("training", UpperSplit.Training)),
                CalibrateUpper = settings.Flag("calibrate-upper"),
            };
            options.Validate();
            return new BilevelStrategy(options);
        });

    public static StrategyDefinition Supernet { get; } = new(WeightSharing.SupernetSearch.StrategyName,
        "one-shot weight sharing: train the space's single-path supernet under a regime (spos, fairnas, isometry-fair), score K sampled candidates by validation accuracy with inherited weights (batch norm recalibrated); isometry-fair keeps, of the top-k, the one closest to dynamical isometry (Luo et al., arXiv 2307.02263)",
        [
            new("regime", $"how the supernet is trained: {WeightSharing.SupernetRegimes.KnownTokens}", "isometry-fair"),
            new("candidates", "number of sampled candidates K evaluated in the supernet", "100"),
            new("top-k", "isometry-fair: the most accurate candidates among which the one closest to dynamical isometry (jacobian_isometry) is kept", "10"),
            new("calibration", "training images of the batch-norm recalibration batch", "256"),
            new("isometry-batch", "images jacobian_isometry is measured on", "16"),
            new("supernet-epochs", "epochs of the supernet's training", "5"),
            new("supernet-batch-size", "minibatch size of the supernet's training", "64"),
            new("supernet-lr", "peak learning rate of the supernet's training (SGD, momentum 0.9, weight decay 5e-4, cosine schedule)", "0.05"),
        ],
        settings =>
        {
            var defaults = new WeightSharing.SupernetSearchOptions();
            var options = new WeightSharing.SupernetSearchOptions
            {
                Regime = settings.Text("regime") is { } r ? WeightSharing.SupernetRegimes.Parse(r) : defaults.Regime,
                Candidates = settings.Int("candidates", defaults.Candidates),
                TopK = settings.Int("top-k", defaults.TopK),
                Calibration = settings.Int("calibration", defaults.Calibration),
                IsometryBatch = settings.Int("isometry-batch", defaults.IsometryBatch),
                Training = defaults.Training with
                {
                    Epochs = settings.Int("supernet-epochs", defaults.Training.Epochs, min: 1),
                    BatchSize = settings.Int("supernet-batch-size", defaults.Training.BatchSize, min: 1),
                    LearningRate = settings.Double("supernet-lr", defaults.Training.LearningRate),
                },
            };
            try { options.Validate(); }
            catch (ArgumentOutOfRangeException e) { throw new SettingException($"--supernet-lr {settings.Text("supernet-lr")}: {e.Message.Split(" (Parameter")[0]}"); }
            return new WeightSharing.SupernetSearch(options);
        });

    // Last, so that the definitions above are initialised first.
    public static StrategyRegistry Default { get; } = new([Eigen, Proxy, Random, Nasi, Mkl, Spectral, Bilevel, Supernet]);
}
