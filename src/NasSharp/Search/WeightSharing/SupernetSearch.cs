using System.Diagnostics;
using NasSharp.Data;
using NasSharp.Spaces;
using NasSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Search.WeightSharing;

public sealed record SupernetSearchOptions
{
    /// <summary>How the supernet is trained (<see cref="SupernetRegime"/>); isometry-fair also selects by <see cref="IsometrySelection"/>.</summary>
    public SupernetRegime Regime { get; init; } = SupernetRegime.IsometryFair;
    /// <summary>K sampled candidates evaluated with inherited weights.</summary>
    public int Candidates { get; init; } = 100;
    /// <summary>isometry-fair: the K most accurate candidates among which the one closest to dynamical isometry is chosen.</summary>
    public int TopK { get; init; } = 10;
    /// <summary>Training images of the batch-norm recalibration batch.</summary>
    public int Calibration { get; init; } = 256;
    /// <summary>Images <c>jacobian_isometry</c> is measured on.</summary>
    public int IsometryBatch { get; init; } = 16;
    /// <summary>The supernet's training (its minibatch order is seeded by the search's seed).</summary>
    public TrainingOptions Training { get; init; } = new() { Epochs = 5, BatchSize = 64 };

    public void Validate()
    {
        if (Candidates < 1) throw new SettingException($"--candidates {Candidates}: need at least one candidate.");
        if (TopK < 1 || TopK > Candidates) throw new SettingException($"--top-k {TopK}: must be in 1..{Candidates} (the number of candidates).");
        if (Calibration < 2) throw new SettingException($"--calibration {Calibration}: batch-norm statistics need at least 2 images.");
        if (IsometryBatch < 1) throw new SettingException($"--isometry-batch {IsometryBatch}: need at least one image.");
        Training.Validate();
    }
}

/// <summary>
/// One-shot weight-sharing search of a space's single-path supernet (<see cref="IWeightSharing"/>): the supernet is trained
/// once under a <see cref="SupernetRegime"/> (SPOS, FairNAS or isometry-fair), then K sampled candidates inherit its weights,
/// have their batch norms recalibrated and are scored by validation accuracy (<see cref="PathEvaluation"/>). spos and fairnas
/// keep the most accurate; isometry-fair keeps, among the top-k, the one closest to dynamical isometry (<see cref="IsometrySelection"/>,
/// after Luo, Hu, Pang, Huang &amp; Liu, arXiv 2307.02263). Each candidate's accuracy is journaled (<c>score/i</c>), and the
/// isometry scores under <c>isometry/i</c>; a rerun retrains the supernet only if something is missing, with the same seeds, so
/// it resumes with the same result.
/// </summary>
public sealed class SupernetSearch(SupernetSearchOptions options) : SearchStrategy<SupernetSearchOptions>(StrategyName, options)
{
    public const string StrategyName = "supernet";

    public override void Validate(ISearchSpace space, ExperimentData data)
    {
        ArgumentNullException.ThrowIfNull(space);
        Options.Validate();
        if (space.WeightSharing is null)
            throw new SettingException($"--strategy {Name} trains a single-path supernet; the {space.SpaceName} space has no weight-sharing form (nb201 and mobilenet have).");
    }

    public override SearchOutcome Run(SearchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Validate(context.Space, context.Data);
        var clock = Stopwatch.StartNew();
        var sharing = context.Space.WeightSharing!;
        var splits = context.Data.Splits;
        if (splits.Validation is not { Count: > 0 } validation)
            throw new SettingException($"--strategy {Name} scores candidates by their validation accuracy in the supernet; give a validation split (--val-size).");
        if (splits.Train.Count < Options.Calibration)
            throw new SettingException($"--calibration {Options.Calibration}: the training split has {splits.Train.Count} images.");
        var candidates = Candidates.Sample(context.Space, Options.Candidates, context.Seed);
        var paths = candidates.Select(sharing.PathOf).ToList();
        var trained = new Lazy<TrainedSupernet>(() => TrainedSupernet.Train(this, context, sharing, splits.Train, validation));
        try
        {
            return Search(context, candidates, paths, trained, clock);
        }
        finally
        {
            if (trained.IsValueCreated) trained.Value.Dispose();
        }
    }

    private SearchOutcome Search(SearchContext context, IReadOnlyList<IGenotype> candidates, IReadOnlyList<IReadOnlyList<int>> paths,
        Lazy<TrainedSupernet> trained, Stopwatch clock)
    {
        var (ranked, scoring) = Candidates.Score(context, candidates, (i, g) =>
        {
            var watch = Stopwatch.StartNew();
            double accuracy = trained.Value.Evaluation.AccuracyPercent(paths[i]);
            return new ScoredCandidate(i, g.Canonical, accuracy, null, new Dictionary<string, double>(), watch.Elapsed.TotalSeconds);
        });
        string? arch = ranked.FirstOrDefault(c => c.IsFinite)?.Arch;
        if (Options.Regime == SupernetRegime.IsometryFair && ranked.Any(c => c.IsFinite))
        {
            var accuracy = new double[candidates.Count];
            foreach (var c in ranked) accuracy[c.Index] = c.IsFinite ? c.Score : double.NegativeInfinity;
            var (chosen, scored) = IsometrySelection.Select(accuracy, Options.TopK, i => IsometryOf(context, trained, i, paths[i], candidates[i].Canonical));
            arch = candidates[chosen].Canonical;
            var isometry = scored.ToDictionary(c => c.Index, c => c.Isometry);
            ranked = [.. ranked.Select(c => isometry.TryGetValue(c.Index, out var v)
                ? c with { Measures = new Dictionary<string, double> { ["jacobian_isometry"] = v ?? double.NaN } } : c)];
        }
        return new SearchOutcome(Name, arch)
        {
            Ranked = ranked,
            ScoringSeconds = scoring,
            TrainingSeconds = trained.IsValueCreated ? trained.Value.Result.Seconds : 0,
            SearchSeconds = clock.Elapsed.TotalSeconds,
            Caveat = trained.IsValueCreated && trained.Value.Result.Diverged ? "the supernet's training diverged; its accuracies are of the weights before the step that diverged" : null,
        };
    }

    /// <summary><c>jacobian_isometry</c> of candidate <paramref name="index"/>'s inherited network, journaled as <c>isometry/i</c>.</summary>
    private Proxies.ProxyScore IsometryOf(SearchContext context, Lazy<TrainedSupernet> trained, int index, IReadOnlyList<int> path, string arch)
    {
        string key = $"isometry/{index}";
        if (context.Journal.TryFind<IsometryRecord>(key, out var stored))
            return stored.Value is { } v ? Proxies.ProxyScore.Finite(v) : Proxies.ProxyScore.NonFinite(double.NaN, stored.Reason ?? "not finite");
        var t = trained.Value;
        var score = IsometrySelection.Score(context.Space.WeightSharing!, t.Supernet, t.Evaluation, path, t.IsometryInputs,
            t.SampleShape, t.Classes, t.SupernetSeed);
        context.Journal.Record(key, new IsometryRecord(score.IsFinite ? score.Value : null, score.IsFinite ? null : score.Reason ?? score.Status.ToString()),
            arch, context.Space.SpaceName);
        return score;
    }

    /// <summary>A journaled <c>jacobian_isometry</c> score: its value, or why it has none.</summary>
    public sealed record IsometryRecord(double? Value, string? Reason);

    /// <summary>The supernet trained under the search's regime, with what evaluating a path needs; owned here, whatever dispose
    /// scope is open when it is made (it outlives the scoring of every candidate).</summary>
    private sealed class TrainedSupernet(PathSupernet supernet, SupernetTrainingResult result, PathEvaluation evaluation, Tensor[] tensors,
        Tensor isometryInputs, int[] sampleShape, int classes, long supernetSeed) : IDisposable
    {
        public PathSupernet Supernet { get; } = supernet;
        public SupernetTrainingResult Result { get; } = result;
        public PathEvaluation Evaluation { get; } = evaluation;
        public Tensor IsometryInputs { get; } = isometryInputs;
        public int[] SampleShape { get; } = sampleShape;
        public int Classes { get; } = classes;
        public long SupernetSeed { get; } = supernetSeed;

        public static TrainedSupernet Train(SupernetSearch search, SearchContext context, IWeightSharing sharing, LabeledDataset train, LabeledDataset validation)
        {
            var options = search.Options;
            long supernetSeed = Seeds.Derive(context.Seed, "supernet");
            var supernet = sharing.BuildSupernet(train.SampleShape, train.NumClasses, supernetSeed, context.Device);
            foreach (var p in supernet.parameters()) p.DetachFromDisposeScope();
            foreach (var b in supernet.buffers()) b.DetachFromDisposeScope();
            try
            {
                var training = options.Training with { Seed = Seeds.Derive(context.Seed, "supernet-batches") };
                string task = $"training the {options.Regime.Token()} supernet";
                var result = SupernetTraining.Train(supernet, sharing.ChoiceCounts, options.Regime, train, training, Seeds.Derive(context.Seed, "paths"),
                    Seeds.Derive(context.Seed, "isometric-init"), context.Device, new Progress(context, task), context.Cancellation);
                // The calibration images and the isometry batch: fixed by the search's seed.
                Tensor calibration, isometryInputs, vx, vy;
                using (torch.NewDisposeScope())
                {
                    var (c, i) = PathEvaluation.FixedBatches(train, options.Calibration, options.IsometryBatch, Seeds.Rng(context.Seed, "calibration"), context.Device);
                    (calibration, isometryInputs) = (c.DetachFromDisposeScope(), i.DetachFromDisposeScope());
                    var (x, y) = validation.ToTensors(context.Device);
                    (vx, vy) = (x.DetachFromDisposeScope(), y.DetachFromDisposeScope());
                }
                var evaluation = new PathEvaluation(supernet, calibration, vx, vy);
                return new TrainedSupernet(supernet, result, evaluation, [calibration, isometryInputs, vx, vy], isometryInputs, train.SampleShape,
                    train.NumClasses, supernetSeed);
            }
            catch
            {
                supernet.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            foreach (var t in tensors) t.Dispose();
            Supernet.Dispose();
        }
    }

    private sealed class Progress(SearchContext context, string task) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => context.Report(task, value.Step, value.TotalSteps, $"epoch {value.Epoch}, loss {value.Loss:F3}");
    }
}
