using System.CommandLine;
using NasSharp.Data;

namespace NasSharp.Cli;

/// <summary>The dataset and split options of a command, and loading with progress.</summary>
public sealed class DataOptions
{
    public DataOptions(Command cmd)
    {
        foreach (var o in new Option[] { Dataset, TrainSize, ValidationSize, TestSize }) cmd.Options.Add(o);
    }

    public Option<string> Dataset { get; } = new("--dataset") { Description = $"Dataset: {string.Join(", ", DatasetCatalog.Names)}.", DefaultValueFactory = _ => "fashion-mnist" };
    public Option<int?> TrainSize { get; } = new("--train-size") { Description = "Use a stratified subset of this many training samples." };
    public Option<int?> ValidationSize { get; } = new("--val-size") { Description = "Validation samples held out of the training set (stratified)." };
    public Option<int?> TestSize { get; } = new("--test-size") { Description = "Use a stratified subset of this many test samples." };

    public object Describe(ParseResult pr) => new
    {
        dataset = pr.GetValue(Dataset),
        train_size = pr.GetValue(TrainSize),
        val_size = pr.GetValue(ValidationSize),
        test_size = pr.GetValue(TestSize),
    };

    /// <summary>Loads the dataset, makes seeded stratified splits, and normalises per channel on the training split.</summary>
    public LoadedData Load(ParseResult pr, CliConsole console, long seed)
    {
        var name = pr.GetValue(Dataset)!;
        var dir = DataDirectory.Resolve(pr.GetValue(GlobalOptions.DataDir));
        var raw = console.WithProgress("data", sink =>
        {
            var task = sink.Task($"loading {name}", 100);
            var result = DatasetCatalog.Load(name, dir.Path, new SyncProgress<(int Done, int Total)>(p => task.Report(p.Total == 0 ? 100 : (int)(100L * p.Done / p.Total), "decoding")));
            task.Report(100);
            return result;
        });
        var splits = Splits.Make(raw, new SplitOptions
        {
            TrainSize = pr.GetValue(TrainSize),
            ValidationSize = pr.GetValue(ValidationSize),
            TestSize = pr.GetValue(TestSize),
            Seed = Seeds.Derive(seed, "data-split"),
        });
        var normalized = Normalization.FitOn(splits.Train).Apply(splits);
        return new LoadedData(name, normalized);
    }
}

public sealed record LoadedData(string Name, DataSplits Splits)
{
    public LabeledDataset Train => Splits.Train;
    public LabeledDataset? Validation => Splits.Validation;
    public LabeledDataset? Test => Splits.Test;
}
