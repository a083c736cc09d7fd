using System.Diagnostics;
using NasSharp.Data;
using NasSharp.Search.WeightSharing;
using NasSharp.Spaces;
using NasSharp.Stats;
using NasSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Experiments;

/// <summary>
/// A fairness run's configuration: the space (its weight-sharing form and table), the data, the regimes, the supernet seeds,
/// the training budget shared by every regime, the sampled cells, the calibration batch, and the isometry-fair selection.
/// </summary>
public sealed record FairnessConfig(SpaceSpec Space, DataSpec Data, IReadOnlyList<string> Regimes, int Seeds, TrainingOptions Training, int Cells,
    int CalibrationSize, int TopK, int IsometryBatch, string Target)
{
    public void Validate()
    {
        if (Regimes.Count == 0) throw new SettingException($"--regimes: give at least one of {SupernetRegimes.KnownTokens}.");
        foreach (var r in Regimes) SupernetRegimes.Parse(r);
        if (Regimes.Distinct().Count() != Regimes.Count) throw new SettingException("--regimes: a regime is named twice.");
        if (Seeds < 1) throw new SettingException($"--seeds {Seeds}: need at least one.");
        if (Cells < 2) throw new SettingException($"--n {Cells}: rank correlations need at least 2 cells.");
        if (CalibrationSize < 2) throw new SettingException($"--calibration {CalibrationSize}: batch-norm statistics need at least 2 images.");
        if (TopK < 1) throw new SettingException($"--top-k {TopK}: need at least 1.");
        if (IsometryBatch < 1) throw new SettingException($"--isometry-batch {IsometryBatch}: need at least 1.");
        try { Training.Validate(); }
        catch (ArgumentOutOfRangeException e) { throw new SettingException(e.Message.Split(" (Parameter")[0]); }
    }
}

/// <summary>A sampled cell and its table accuracies (%) per target.</summary>
public sealed record FairnessCell(string Arch, IReadOnlyDictionary<string, double> TestAccuracyPercent);

/// <summary>
/// One supernet trained under one regime with one seed: its accuracy (%) on every sampled cell (in <see cref="FairnessOutput.Cells"/>
/// order), their rank correlations with the table (null when one side is constant), the selected cell, and the timings.
/// </summary>
public sealed record FairnessRun(string Regime, int Seed, IReadOnlyList<double> SupernetAccuracyPercent, double? Kendall, double? Spearman,
    string Selected, double SelectedSupernetAccuracyPercent, IReadOnlyDictionary<string, double>? SelectedTestAccuracyPercent,
    IReadOnlyList<IsometryCandidate> IsometryCandidates, int Steps, int Passes, double LastEpochLoss, bool Diverged, double TrainSeconds, double EvaluationSeconds);

/// <summary>A regime over its seeds: τ and ρ mean and sample sd (null with one seed), its selected cells' mean table accuracy on the target, minutes per run.</summary>
public sealed record FairnessRegimeRow(string Regime, int Runs, double? KendallMean, double? KendallSd, double? SpearmanMean, double? SpearmanSd,
    double? SelectedTestAccuracyMean, double MinutesPerRun);

/// <summary>
/// The targets: isometry-fair's mean τ minus each other regime's, against their pooled sd √((s₁² + s₂²)/2) (null when a regime
/// is missing or has one seed), and the mean table accuracy of its selected cells against 93.0%.
/// </summary>
public sealed record FairnessTargets(double? MarginOverSpos, double? PooledSdSpos, double? MarginOverFairNas, double? PooledSdFairNas, bool? TauAboveBoth,
    double? SelectedTestAccuracyMean, bool? SelectedAtLeast93);

/// <summary>What <c>nas bench fairness</c> reports.</summary>
public sealed record FairnessOutput(long? RunId, string Space, string Dataset, string Target, int TrainImages, int ValidationImages, int Epochs, int BatchSize,
    int StepsPerRun, IReadOnlyList<FairnessCell> Cells, IReadOnlyList<FairnessRun> Runs, IReadOnlyList<FairnessRegimeRow> Regimes, FairnessTargets Targets, double Seconds);

/// <summary>
/// How fairly single-path supernets rank architectures (<see cref="ExperimentKind.Fairness"/>): for each regime
/// (<see cref="SupernetRegime"/>) and seed, the space's supernet is trained under one budget (the same optimiser steps over
/// the same minibatches), then every one of a fixed sample of cells (the same for every regime and seed) is evaluated with
/// inherited weights (<see cref="PathEvaluation"/>: batch norm recalibrated, accuracy on the validation split), and Kendall τ and
/// Spearman ρ against the table's test accuracy measure how well the supernet ranks them. Each regime selects a cell: the
/// most accurate in the supernet, or for isometry-fair <see cref="IsometrySelection"/>'s rule. Each (regime, seed) is journaled
/// when done (key <c>run/regime/seed</c>), so a killed run resumes from the last finished supernet.
/// </summary>
public sealed class FairnessExperiment : IExperiment<FairnessOutput>
{
    public const double TargetAccuracyPercent = 93.0;

    private readonly ISearchSpace space;
    private readonly ExperimentData data;
    private readonly IGroundTruth groundTruth;
    private readonly FairnessConfig config;

    public FairnessExperiment(ISearchSpace space, ExperimentData data, IGroundTruth groundTruth, FairnessConfig config, long seed)
    {
        this.space = space ?? throw new ArgumentNullException(nameof(space));
        this.data = data ?? throw new ArgumentNullException(nameof(data));
        this.groundTruth = groundTruth ?? throw new ArgumentNullException(nameof(groundTruth));
        this.config = config ?? throw new ArgumentNullException(nameof(config));
        Seed = seed;
    }

    public ExperimentKind Kind => ExperimentKind.Fairness;
    public object Config => config;
    public long Seed { get; }

    public void Validate()
    {
        config.Validate();
        if (CheckSpace(space) is { } problem) throw new SettingException(problem);
        if (groundTruth.Targets.All(t => t.Name != config.Target))
            throw new SettingException($"--target {config.Target}: the table has {string.Join(", ", groundTruth.Targets.Select(t => t.Name))}.");
        if (config.Cells > groundTruth.Entries.Count)
            throw new SettingException($"--n {config.Cells}: the table holds {groundTruth.Entries.Count} architectures.");
    }

    /// <summary>Why the experiment cannot run on <paramref name="space"/>, or null when it can.</summary>
    public static string? CheckSpace(ISearchSpace space) => space?.WeightSharing is null
        ? $"bench fairness trains a single-path supernet; the {space?.SpaceName} space has no weight-sharing form (nb201 has)."
        : null;

    public FairnessOutput Run(ExperimentContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Validate();
        var clock = Stopwatch.StartNew();
        var sharing = space.WeightSharing!;
        var entries = groundTruth.Sample(config.Cells, new Random(unchecked((int)Seeds.Derive(Seed, "cells"))));
        var cells = entries.Select(e => new FairnessCell(e.Arch.Canonical, e.TestAccuracyPercent)).ToList();
        var paths = entries.Select(e => sharing.PathOf(e.Arch)).ToList();
        var splits = data.Splits;
        if (splits.Validation is not { Count: > 0 } validation)
            throw new SettingException("--val-size: bench fairness evaluates the supernet's cells on a validation split; give one.");
        if (splits.Train.Count < config.CalibrationSize)
            throw new SettingException($"--calibration {config.CalibrationSize}: the training split has {splits.Train.Count} images.");

        var runs = new List<FairnessRun>();
        var regimes = config.Regimes.Select(SupernetRegimes.Parse).ToList();
        int total = regimes.Count * config.Seeds, done = 0;
        for (int s = 0; s < config.Seeds; s++)
        {
            foreach (var regime in regimes)
            {
                context.Cancellation.ThrowIfCancellationRequested();
                var key = $"run/{regime.Token()}/{s}";
                if (!context.Journal.TryFind<FairnessRun>(key, out var run))
                {
                    run = RunOne(sharing, regime, s, cells, paths, splits.Train, validation, context);
                    context.Journal.Record(key, run, run.Selected, space.SpaceName);
                }
                runs.Add(run);
                context.Report("supernets", ++done, total, $"{regime.Token()} seed {s}: τ {run.Kendall:F3}, selected {run.Selected}");
            }
        }
        var rows = regimes.Select(r => Row(r.Token(), runs.Where(x => x.Regime == r.Token()).ToList())).ToList();
        return new FairnessOutput(context.RunId, space.SpaceName, data.Name, config.Target, splits.Train.Count, validation.Count, config.Training.Epochs,
            config.Training.BatchSize, runs.Count > 0 ? runs[0].Steps : 0, cells, runs, rows, Targets(rows), clock.Elapsed.TotalSeconds);
    }

    private FairnessRun RunOne(IWeightSharing sharing, SupernetRegime regime, int s, IReadOnlyList<FairnessCell> cells, IReadOnlyList<IReadOnlyList<int>> paths,
        LabeledDataset train, LabeledDataset validation, ExperimentContext context)
    {
        using var scope = torch.NewDisposeScope();
        var shape = train.SampleShape;
        int classes = train.NumClasses;
        long supernetSeed = Seeds.Derive(Seed, "supernet", s);
        using var supernet = sharing.BuildSupernet(shape, classes, supernetSeed, context.Device);
        var options = config.Training with { Seed = Seeds.Derive(Seed, "batches", s) };
        string task = $"training {regime.Token()} seed {s}";
        var trained = SupernetTraining.Train(supernet, sharing.ChoiceCounts, regime, train, options, Seeds.Derive(Seed, "paths", s),
            Seeds.Derive(Seed, "isometric-init", s), context.Device, new Progress(context, task), context.Cancellation);

        var evalClock = Stopwatch.StartNew();
        // The calibration images and the isometry batch: fixed by the run's seed, the same for every regime and seed.
        var (calibration, isometryInputs) = PathEvaluation.FixedBatches(train, config.CalibrationSize, config.IsometryBatch,
            new Random(unchecked((int)Seeds.Derive(Seed, "calibration"))), context.Device);
        var (vx, vy) = validation.ToTensors(context.Device);
        var evaluation = new PathEvaluation(supernet, calibration, vx, vy);
        var accuracy = new double[cells.Count];
        for (int i = 0; i < cells.Count && !trained.Diverged; i++)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            accuracy[i] = evaluation.AccuracyPercent(paths[i]);
            context.Report($"evaluating {regime.Token()} seed {s}", i + 1, cells.Count, cells[i].Arch);
        }
        int chosen;
        IReadOnlyList<IsometryCandidate> candidates = [];
        if (regime == SupernetRegime.IsometryFair)
            (chosen, candidates) = IsometrySelection.Select(accuracy, config.TopK,
                i => IsometrySelection.Score(sharing, supernet, evaluation, paths[i], isometryInputs, shape, classes, supernetSeed));
        else chosen = IsometrySelection.TopByAccuracy(accuracy).First();
        var truth = cells.Select(c => c.TestAccuracyPercent[config.Target]).ToList();
        double? kendall = trained.Diverged ? null : Finite(RankCorrelation.KendallTau(accuracy, truth));
        double? spearman = trained.Diverged ? null : Finite(RankCorrelation.Spearman(accuracy, truth));
        return new FairnessRun(regime.Token(), s, accuracy, kendall, spearman, cells[chosen].Arch, accuracy[chosen], cells[chosen].TestAccuracyPercent,
            candidates, trained.Steps, trained.Passes, trained.LastEpochLoss, trained.Diverged, trained.Seconds, evalClock.Elapsed.TotalSeconds);
    }

    private static double? Finite(double v) => double.IsFinite(v) ? v : null;

    private FairnessRegimeRow Row(string regime, IReadOnlyList<FairnessRun> runs)
    {
        var tau = runs.Where(r => r.Kendall is not null).Select(r => r.Kendall!.Value).ToList();
        var rho = runs.Where(r => r.Spearman is not null).Select(r => r.Spearman!.Value).ToList();
        var selected = runs.Where(r => r.SelectedTestAccuracyPercent is not null).Select(r => r.SelectedTestAccuracyPercent![config.Target]).ToList();
        return new FairnessRegimeRow(regime, runs.Count, Mean(tau), Sd(tau), Mean(rho), Sd(rho), Mean(selected),
            runs.Count > 0 ? runs.Average(r => r.TrainSeconds + r.EvaluationSeconds) / 60 : 0);
    }

    /// <summary>The targets from the regime rows (see <see cref="FairnessTargets"/>).</summary>
    public static FairnessTargets Targets(IReadOnlyList<FairnessRegimeRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var iso = rows.FirstOrDefault(r => r.Regime == SupernetRegime.IsometryFair.Token());
        (double? Margin, double? Pooled) Against(SupernetRegime other)
        {
            var o = rows.FirstOrDefault(r => r.Regime == other.Token());
            if (iso?.KendallMean is not { } a || o?.KendallMean is not { } b) return (null, null);
            double? pooled = iso.KendallSd is { } s1 && o.KendallSd is { } s2 ? Math.Sqrt((s1 * s1 + s2 * s2) / 2) : null;
            return (a - b, pooled);
        }
        var (overSpos, sdSpos) = Against(SupernetRegime.Spos);
        var (overFair, sdFair) = Against(SupernetRegime.FairNas);
        bool? above = overSpos is { } m1 && sdSpos is { } p1 && overFair is { } m2 && sdFair is { } p2 ? m1 > p1 && m2 > p2 : null;
        var selected = iso?.SelectedTestAccuracyMean;
        return new FairnessTargets(overSpos, sdSpos, overFair, sdFair, above, selected, selected is { } v ? v >= TargetAccuracyPercent : null);
    }

    private static double? Mean(IReadOnlyList<double> v) => v.Count > 0 ? v.Average() : null;

    /// <summary>The sample standard deviation (n − 1); null below two values.</summary>
    private static double? Sd(IReadOnlyList<double> v) => v.Count > 1 ? MeanStd.Of(v).Std : null;

    private sealed class Progress(ExperimentContext context, string task) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => context.Report(task, value.Step, value.TotalSteps, $"epoch {value.Epoch}, loss {value.Loss:F3}");
    }
}
