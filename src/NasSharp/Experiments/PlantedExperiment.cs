using System.Diagnostics;
using NasSharp.Search.Bilevel;
using NasSharp.Spaces;
using static TorchSharp.torch;

namespace NasSharp.Experiments;

/// <summary>
/// A planted run's configuration: the problem, the seeds, the validation sizes (multiples of h) and the methods' settings:
/// the <c>bilevel</c> strategy's (its order is run both ways; its sample sizes are the problem's, not
/// <see cref="BilevelOptions.TrainPoints"/> and <see cref="BilevelOptions.ValPoints"/>), the <c>mkl</c> strategy's (likewise),
/// and the steps and step size of the exact interpolant hypergradient.
/// </summary>
public sealed record PlantedConfig(PlantedSettings Problem, int Seeds, IReadOnlyList<int> Multiples, BilevelOptions Bilevel, MklOptions Mkl,
    int InterpolantSteps, double InterpolantStepSize, int AlsIterations, int GridDivisions)
{
    /// <summary>
    /// Measure only what depends on no method: the validation–test gap and the two oracles' recovery (no method runs). The
    /// test oracle bounds every method's recovery and the validation oracle is what the validation sample allows, so a
    /// setting can be chosen on them without looking at the methods.
    /// </summary>
    public bool GapOnly { get; init; }
}

/// <summary>One method's pick on one seed at one validation size.</summary>
public sealed record PlantedPick(string Method, int ValPoints, int Picked, IReadOnlyList<double> Alpha);

/// <summary>sup over the α grid of |validation risk − test risk| on one seed at one validation size.</summary>
public sealed record PlantedGap(int ValPoints, double SupGap);

/// <summary>What one seed gave (journaled as <c>seed/s</c>).</summary>
public sealed record PlantedSeedRecord(int Seed, int Dominant, IReadOnlyList<double> AlphaStar, IReadOnlyList<PlantedPick> Picks, IReadOnlyList<PlantedGap> Gaps, double Seconds);

/// <summary>A method's recovery rate of argmax α* at one validation size, over the seeds.</summary>
public sealed record PlantedRecovery(string Method, int Multiple, int ValPoints, double RecoveryRate, int Recovered, int Seeds);

/// <summary>The mean over seeds of the sup gap at one validation size.</summary>
public sealed record PlantedGapRow(int Multiple, int ValPoints, double MeanSupGap);

/// <summary>What <c>nas bench planted</c> reports. <paramref name="Dimension"/>, <paramref name="Noise"/> and
/// <paramref name="Dominant"/> are the teacher's d, label noise and dominant α*; null in outputs stored before they were reported.</summary>
public sealed record PlantedOutput(long? RunId, IReadOnlyList<string> Activations, int Width, int TrainPoints, int TestPoints,
    int? Dimension, double? Noise, double? Dominant, int Seeds, double Chance,
    IReadOnlyList<PlantedRecovery> Recovery, IReadOnlyList<PlantedGapRow> Gap, double GapSlope, double Seconds);

/// <summary>
/// The planted experiment of train–validation activation search (<see cref="ExperimentKind.Planted"/>; Oymak, Li &amp;
/// Soltanolkotabi, ICML 2021): on each seed a <see cref="PlantedProblem"/> (every candidate interpolates the training split)
/// and nested validation samples of n_V = m·h for each multiple m; the <c>bilevel</c> strategy's search (first and second order),
/// the <c>mkl</c> strategy's, spectral (+ ALS), training-loss selection (the <c>bilevel</c> strategy's baseline) and the exact
/// interpolant hypergradient each pick argmax α̂ (beside two oracles: the grid α of least test risk, and of least validation risk), and over a simplex grid of α the largest |validation risk − test risk| of the interpolant θ(α) is
/// measured. The test risk is the population risk (<see cref="PlantedProblem.PopulationRisks"/>), so that a finite test set's own
/// error does not floor the gap. The fitted slope of log(mean sup gap) against log(n_V) is the concentration rate (theory: −1/2, the standard
/// uniform-concentration rate the paper's result is of this form; its exact statement is not available here).
/// </summary>
public sealed class PlantedExperiment(PlantedConfig config, long seed) : IExperiment<PlantedOutput>
{
    /// <summary>The <c>bilevel</c> strategy's search, first-order hypergradient.</summary>
    public const string Bilevel = "bilevel";
    /// <summary>The <c>bilevel</c> strategy's search, second-order hypergradient (<c>--order second</c>).</summary>
    public const string BilevelSecondOrder = "bilevel-second-order";
    /// <summary>The <c>bilevel</c> strategy's search, implicit-function hypergradient (<c>--order implicit</c>).</summary>
    public const string BilevelImplicit = "bilevel-implicit";
    public const string Mkl = "mkl";
    public const string Spectral = "spectral";
    /// <summary>The <c>bilevel</c> strategy with the training loss as upper level (<c>--select-by training</c>), first order.</summary>
    public const string TrainingLoss = "training-loss";
    /// <summary>The same baseline with the implicit hypergradient (<c>--select-by training --order implicit</c>): the like-for-like baseline of <see cref="BilevelImplicit"/>.</summary>
    public const string TrainingLossImplicit = "training-loss-implicit";
    /// <summary>Not a strategy: the exact hypergradient through the minimum-norm interpolant (<see cref="PlantedMethods.InterpolantHypergradient"/>).</summary>
    public const string InterpolantHypergradient = "interpolant-hypergradient";
    /// <summary>Not a method: the grid α of least population (test) risk, the best any selection of the interpolant's α can do here.</summary>
    public const string TestOracle = "test-oracle";
    /// <summary>
    /// Not a method: the grid α of least validation risk at n_V, the best a selection of the interpolant's α by the validation
    /// sample alone can do on the grid. The validation-driven searches (bilevel, the interpolant hypergradient) minimise this
    /// risk over the simplex, so their recovery is about its recovery plus their own optimisation error.
    /// </summary>
    public const string ValidationOracle = "validation-oracle";
    public static IReadOnlyList<string> Methods { get; } = [Bilevel, BilevelSecondOrder, BilevelImplicit, Mkl, Spectral, TrainingLoss, TrainingLossImplicit, InterpolantHypergradient, TestOracle, ValidationOracle];
    /// <summary>What <see cref="PlantedConfig.GapOnly"/> measures: the rows that depend on no method.</summary>
    public static IReadOnlyList<string> Oracles { get; } = [TestOracle, ValidationOracle];

    /// <summary>The <c>bilevel</c> strategy's settings for the planted student: full-batch steps on a readout of unit-order curvature
    /// (lr 1 with heavy-ball momentum 0.9, so that 2000 steps come near the interpolant) and Adam steps of 0.05 on α.</summary>
    public static BilevelOptions DefaultBilevel { get; } = new() { Steps = 100, InnerSteps = 20, WeightLr = 1.0, Momentum = 0.9, AlphaLr = 0.05 };

    public ExperimentKind Kind => ExperimentKind.Planted;
    public object Config => config;
    public long Seed => seed;

    public PlantedOutput Run(ExperimentContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Validate(config);
        var clock = Stopwatch.StartNew();
        var records = new List<PlantedSeedRecord>();
        for (int s = 0; s < config.Seeds; s++)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            var key = $"seed/{s}";
            if (!context.Journal.TryFind<PlantedSeedRecord>(key, out var record))
            {
                record = RunSeed(config, s, Seeds.Derive(seed, "planted-seed", s));
                context.Journal.Record(key, record);
            }
            records.Add(record);
            context.Report("seeds", s + 1, config.Seeds);
        }
        return Summarise(config, records, context.RunId, clock.Elapsed.TotalSeconds);
    }

    public static void Validate(PlantedConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Problem.Validate();
        if (config.Seeds < 1) throw new SettingException($"--seeds {config.Seeds}: need at least one.");
        if (config.Multiples.Count == 0 || config.Multiples.Any(m => m < 1)) throw new SettingException("--multiples: give positive multiples of h, e.g. 1,2,5,10,20.");
        ArgumentNullException.ThrowIfNull(config.Bilevel);
        ArgumentNullException.ThrowIfNull(config.Mkl);
        config.Bilevel.Validate();
        config.Mkl.Validate();
        if (config.InterpolantSteps < 1 || config.AlsIterations < 1) throw new SettingException("--steps: need at least one step.");
        if (!(config.InterpolantStepSize > 0)) throw new SettingException($"--step-size {config.InterpolantStepSize}: must be positive.");
        if (config.GridDivisions < 1) throw new SettingException($"--grid {config.GridDivisions}: need at least one division.");
        int largest = config.Multiples.Max() * config.Problem.Candidates;
        if ((long)config.Problem.TestPoints < (long)PlantedProblem.PopulationMultiple * largest)
            throw new SettingException($"--test-points {config.Problem.TestPoints}: the population risk needs at least {PlantedProblem.PopulationMultiple} × the largest n_V " +
                $"({largest}) = {PlantedProblem.PopulationMultiple * largest} fresh inputs, or its own error floors the validation–test gap.");
    }

    /// <summary>One seed: the problem, its training and test samples, nested validation samples, every method at every n_V.</summary>
    public static PlantedSeedRecord RunSeed(PlantedConfig config, int index, long seed)
    {
        var clock = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        using var problem = new PlantedProblem(config.Problem, seed);
        int h = config.Problem.Candidates;
        var (trainX, trainY) = problem.Sample(config.Problem.TrainPoints);
        var sizes = config.Multiples.Distinct().Order().Select(m => m * h).ToList();
        var (allValX, allValY) = problem.Sample(sizes[^1]);
        var grid = PlantedMethods.SimplexGrid(h, config.GridDivisions)
            .Select(a => (Alpha: tensor(a, dtype: ScalarType.Float64), Theta: PlantedMethods.Readout(trainX, trainY, tensor(a, dtype: ScalarType.Float64)))).ToList();
        // The test risk is the population risk (the quantity uniform concentration bounds), not a finite test set's.
        var testRisks = problem.PopulationRisks(grid);
        var gaps = new List<PlantedGap>();
        var validationOracle = new Dictionary<int, double[]>();
        foreach (var n in sizes)
        {
            using var step = NewDisposeScope();
            var valX = allValX.narrow(0, 0, n);
            var valY = allValY.narrow(0, 0, n);
            var valRisks = grid.Select(g => PlantedMethods.Risk(valX, valY, g.Theta, g.Alpha)).ToArray();
            gaps.Add(new PlantedGap(n, valRisks.Select((r, i) => Math.Abs(r - testRisks[i])).Max()));
            validationOracle[n] = grid[PlantedMethods.ArgMax([.. valRisks.Select(r => -r)])].Alpha.data<double>().ToArray();
        }
        var oracle = grid[PlantedMethods.ArgMax([.. testRisks.Select(r => -r)])].Alpha.data<double>().ToArray();
        IEnumerable<PlantedPick> OraclePicks(int n) =>
            [new PlantedPick(TestOracle, n, PlantedMethods.ArgMax(oracle), oracle), new PlantedPick(ValidationOracle, n, PlantedMethods.ArgMax(validationOracle[n]), validationOracle[n])];
        if (config.GapOnly)
            return new PlantedSeedRecord(index, problem.Dominant, problem.AlphaStar, [.. sizes.SelectMany(OraclePicks)], gaps, clock.Elapsed.TotalSeconds);
        var activations = config.Problem.Activations;
        var firstOrder = config.Bilevel with { Order = HypergradientOrder.First, Upper = UpperSplit.Validation };
        // Selection by training loss does not depend on the validation sample.
        var byTraining = PlantedMethods.BilevelStrategy(activations, trainX, trainY, trainX, trainY, firstOrder with { Upper = UpperSplit.Training });
        var byTrainingImplicit = PlantedMethods.BilevelStrategy(activations, trainX, trainY, trainX, trainY,
            firstOrder with { Upper = UpperSplit.Training, Order = HypergradientOrder.Implicit });
        var picks = new List<PlantedPick>();
        foreach (var n in sizes)
        {
            using var step = NewDisposeScope();
            var valX = allValX.narrow(0, 0, n);
            var valY = allValY.narrow(0, 0, n);
            double[] bilevel = PlantedMethods.BilevelStrategy(activations, trainX, trainY, valX, valY, firstOrder);
            double[] secondOrder = PlantedMethods.BilevelStrategy(activations, trainX, trainY, valX, valY, firstOrder with { Order = HypergradientOrder.Second });
            double[] implicitOrder = PlantedMethods.BilevelStrategy(activations, trainX, trainY, valX, valY, firstOrder with { Order = HypergradientOrder.Implicit });
            double[] mkl = PlantedMethods.Mkl(trainX, trainY, valX, valY, config.Mkl);
            double[] spectral = RankOneRegression.AlternatingLeastSquares(trainX, trainY, valX, valY, RankOneRegression.Spectral(trainX, trainY), config.AlsIterations).Alpha;
            double[] exact = PlantedMethods.InterpolantHypergradient(trainX, trainY, valX, valY, config.InterpolantSteps, config.InterpolantStepSize);
            foreach (var (method, alpha) in new[] { (Bilevel, bilevel), (BilevelSecondOrder, secondOrder), (BilevelImplicit, implicitOrder), (Mkl, mkl), (Spectral, spectral), (TrainingLoss, byTraining), (TrainingLossImplicit, byTrainingImplicit),
                (InterpolantHypergradient, exact) })
                picks.Add(new PlantedPick(method, n, PlantedMethods.ArgMax(alpha), alpha));
            picks.AddRange(OraclePicks(n));
        }
        return new PlantedSeedRecord(index, problem.Dominant, problem.AlphaStar, picks, gaps, clock.Elapsed.TotalSeconds);
    }

    public static PlantedOutput Summarise(PlantedConfig config, IReadOnlyList<PlantedSeedRecord> records, long? runId, double seconds)
    {
        int h = config.Problem.Candidates;
        var sizes = config.Multiples.Distinct().Order().Select(m => m * h).ToList();
        var recovery = (config.GapOnly ? Oracles : Methods).SelectMany(method => sizes.Select(n =>
        {
            int recovered = records.Count(r => r.Picks.Single(p => p.Method == method && p.ValPoints == n).Picked == r.Dominant);
            return new PlantedRecovery(method, n / h, n, 100.0 * recovered / records.Count, recovered, records.Count);
        })).ToList();
        var gap = sizes.Select(n => new PlantedGapRow(n / h, n, records.Average(r => r.Gaps.Single(g => g.ValPoints == n).SupGap))).ToList();
        double slope = gap.Count >= 2
            ? MathNet.Numerics.Fit.Line([.. gap.Select(g => Math.Log(g.ValPoints))], [.. gap.Select(g => Math.Log(g.MeanSupGap))]).B
            : double.NaN;
        return new PlantedOutput(runId, [.. config.Problem.Activations.Select(a => a.Token())], config.Problem.Width, config.Problem.TrainPoints,
            config.Problem.TestPoints, config.Problem.Dimension, config.Problem.Noise, config.Problem.Dominant, records.Count, 100.0 / h,
            recovery, gap, slope, seconds);
    }
}
