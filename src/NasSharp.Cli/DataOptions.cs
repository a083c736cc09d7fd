using System.CommandLine;
using NasSharp.Cli.Commands;
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
    public Option<string?> TrainSize { get; } = new("--train-size") { Description = "Stratified subset of the training pool: a count (5000) or a fraction (0.1, 10%)." };
    public Option<string?> ValidationSize { get; } = new("--val-size") { Description = "Validation samples held out of the official training set, stratified (count or fraction; default 5000 for the large sets, 10% for small ones)." };
    public Option<string?> TestSize { get; } = new("--test-size") { Description = "Stratified subset of the test set (count or fraction); sets without an official test split hold out 20% by default." };

    public object Describe(ParseResult pr) => new
    {
        dataset = pr.GetValue(Dataset),
        train_size = pr.GetValue(TrainSize),
        val_size = pr.GetValue(ValidationSize),
        test_size = pr.GetValue(TestSize),
    };

    /// <summary>Loads the dataset, makes seeded stratified splits, and normalises per channel on the training split.</summary>
    public LoadedData Load(ParseResult pr, CliConsole console, long seed, string? dataset = null)
    {
        var name = dataset ?? pr.GetValue(Dataset)!;
        var dir = DataDirectory.Resolve(pr.GetValue(GlobalOptions.DataDir));
        var raw = console.WithProgress("data", sink =>
        {
            var task = sink.Task($"loading {name}", 100);
            var result = DatasetCatalog.Load(name, dir.Path, new SyncProgress<(int Done, int Total)>(p => task.Report(p.Total == 0 ? 100 : (int)(100L * p.Done / p.Total), "decoding")));
            task.Report(100);
            return result;
        });
        var splits = Splits.Make(raw, new SplitOptions(unchecked((int)Seeds.Derive(seed, "data-split")))
        {
            TrainSize = Size(pr, TrainSize),
            ValidationSize = Size(pr, ValidationSize),
            TestSize = Size(pr, TestSize),
        });
        return new LoadedData(name, Normalization.Standardize(splits).Splits);
    }

    private static SplitSize? Size(ParseResult pr, Option<string?> option)
    {
        if (pr.GetValue(option) is not { } text) return null;
        try { return SplitSize.Parse(text); }
        catch (Exception e) when (e is FormatException or ArgumentException) { throw new UsageException($"{option.Name} {text}: {e.Message}"); }
    }
}

public sealed record LoadedData(string Name, DataSplits Splits)
{
    public LabeledDataset Train => Splits.Train;
    public LabeledDataset Validation => Splits.Validation;
    public LabeledDataset Test => Splits.Test;
}
