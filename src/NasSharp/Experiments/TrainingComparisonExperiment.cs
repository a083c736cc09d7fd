using NasSharp.Data;
using NasSharp.Networks;
using NasSharp.Search;
using NasSharp.Spaces;
using NasSharp.Store;
using NasSharp.Training;

namespace NasSharp.Experiments;

/// <summary>A training comparison's configuration: the searched space, the space of the trained networks, the strategy.</summary>
public sealed record TrainingComparisonConfig(SpaceSpec Space, SpaceSpec TrainedSpace, DataSpec Data, string Strategy, object Options, int Random,
    TrainingOptions Training);

/// <summary>One trained architecture: the one the search found (<c>found</c>) or a random one, with its trainable parameters.</summary>
public sealed record TrainedOutput(string Role, string Arch, double? ValAccuracyPercent, double? TestAccuracyPercent, bool Diverged, double Seconds,
    long Parameters);

/// <summary>What <c>nas bench train</c> reports: the search, each architecture trained, and where the found one ranks.</summary>
public sealed record TrainingComparisonOutput(long? RunId, bool Resumed, string Space, string Dataset, string Strategy, string Arch, double SearchSeconds,
    TraceSummary? TraceNorm, IReadOnlyDictionary<string, string> TrainedSpace, int Epochs, int TrainImages, IReadOnlyList<TrainedOutput> Trained,
    double? RandomTestAccuracyPercentMean, double? RandomTestAccuracyPercentStd, int? FoundRank);

/// <summary>
/// A search, then the found architecture and K random ones trained under one budget, like for like
/// (<see cref="ExperimentKind.BenchTrain"/>): the comparison for a space without a table of trained accuracies. The search
/// is journaled under <c>search/</c> and each training under <c>truth/i</c>, so the comparison resumes anywhere. The random
/// architectures are the K distinct ones a truth run of the same seed samples (the found one left out if among them).
/// </summary>
public sealed class TrainingComparisonExperiment : IExperiment<TrainingComparisonOutput>
{
    private readonly ISearchSpace space;
    private readonly ISearchSpace trainedSpace;
    private readonly ExperimentData data;
    private readonly ISearchStrategy strategy;
    private readonly TrainingComparisonConfig config;

    public TrainingComparisonExperiment(ISearchSpace space, ISearchSpace trainedSpace, ExperimentData data, ISearchStrategy strategy, int random,
        TrainingOptions training, long seed)
    {
        (this.space, this.trainedSpace, this.data, this.strategy) = (space, trainedSpace, data, strategy);
        if (random < 1) throw new SettingException($"--random {random}: must be at least 1.");
        if (trainedSpace.SpaceName != space.SpaceName) throw new ArgumentException("The trained networks must come from the searched space.", nameof(trainedSpace));
        training.Validate();
        config = new TrainingComparisonConfig(SpaceSpec.Of(space), SpaceSpec.Of(trainedSpace), data.Spec, strategy.Name, strategy.OptionsOn(space), random, training);
        Seed = seed;
    }

    public ExperimentKind Kind => ExperimentKind.BenchTrain;
    public object Config => config;
    public long Seed { get; }

    public void Validate() => strategy.Validate(space, data);

    public TrainingComparisonOutput Run(ExperimentContext context)
    {
        var search = new SearchContext(space, data, Seed)
        {
            Device = context.Device,
            Journal = context.Journal.Under("search/"),
            Cancellation = context.Cancellation,
            Progress = context.ForSearch("search "),
        };
        var outcome = strategy.Run(search);
        var found = space.Parse(outcome.Arch ?? throw new InvalidOperationException($"The search selected no architecture: {outcome.NoArchReason}."));
        var random = space.SampleDistinct(config.Random, Seeds.Rng(Seed, "truth-architectures")).Where(g => g.Canonical != found.Canonical);
        var entries = ArchitectureTrainer.TrainAll(trainedSpace, [found, .. random], data, new NetworkOptions(), config.Training, Seed, context);

        var shape = data.Splits.Train.SampleShape;
        var trained = entries.Select((e, i) => new TrainedOutput(i == 0 ? "found" : "random", e.Arch, e.ValidationAccuracyPercent, e.TestAccuracyPercent, e.Diverged, e.Seconds,
            trainedSpace.Cost(trainedSpace.Parse(e.Arch), shape, data.Splits.Train.NumClasses).Parameters)).ToList();
        var randomTest = trained.Skip(1).Where(t => t.TestAccuracyPercent is not null).Select(t => t.TestAccuracyPercent!.Value).ToArray();
        var stat = randomTest.Length > 0 ? MeanStd.Of(randomTest) : null;
        // Rank of the found architecture by test accuracy among all trained (1 = best), ties counted in its favour.
        int? rank = trained[0].TestAccuracyPercent is { } f ? 1 + randomTest.Count(v => v > f) : null;
        return new TrainingComparisonOutput(context.RunId, context.Resumed, space.SpaceName, data.Name, strategy.Name, found.Canonical, outcome.SearchSeconds,
            outcome.Relaxed is { } r ? TraceSummary.Of(r.Steps) : null, trainedSpace.Settings, config.Training.Epochs, data.Splits.Train.Count, trained,
            stat?.Mean, randomTest.Length > 1 ? stat!.Std : null, rank);
    }

}
