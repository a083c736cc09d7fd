using System.CommandLine;
using NasSharp.Networks;
using NasSharp.Training;

namespace NasSharp.Cli.Commands;

/// <summary><c>nas train</c>: train one architecture and report validation and test accuracy.</summary>
public static class TrainCommand
{
    public static Command Create(CliConsole console)
    {
        var cmd = new Command("train", "Train one architecture with SGD (momentum, weight decay, cosine schedule) and report accuracies.");
        var arch = new Option<string>("--arch") { Description = "Canonical genotype, e.g. w256/relu-relu+1.", Required = true };
        var seed = SpaceOptions.NewSeed();
        var spaceOptions = new SpaceOptions(cmd);
        cmd.Options.Add(arch);
        cmd.Options.Add(seed);
        var dataOptions = new DataOptions(cmd);
        var trainingOptions = new TrainingCliOptions(cmd, defaultEpochs: 5);
        cmd.SetAction(pr =>
        {
            var genotype = spaceOptions.ParseArch(pr, pr.GetValue(arch)!);
            var device = GlobalOptions.ResolveDevice(pr);
            long s = pr.GetValue(seed);
            var training = trainingOptions.Resolve(pr) with { Seed = Seeds.Derive(s, "train-order") };
            var data = dataOptions.Load(pr, console, s);
            using var recorder = RunRecorder.Start(pr, console, "train", new { arch = genotype.Canonical, dataset = data.Name, training }, s);

            var result = console.WithProgress("train", sink =>
            {
                var task = sink.Task(genotype.Canonical, training.Epochs);
                using var model = NetworkFactory.Build(genotype, data.Train.SampleShape, data.Train.NumClasses, new NetworkOptions(), Seeds.Derive(s, "train-init"), device);
                var r = Trainer.Fit(model, data.Train, data.Validation, data.Test, training, device, new SyncProgress<TrainingProgress>(p => task.Report(p.Step * training.Epochs / Math.Max(p.TotalSteps, 1), $"epoch {p.Epoch} loss {p.Loss:F4}")), console.Cancellation);
                task.Report(training.Epochs);
                return r;
            });
            var output = new TrainOutput(genotype.Canonical, data.Name, result.ValidationAccuracy, result.TestAccuracy, result.Diverged,
                result.Epochs.Select(e => new EpochOutput(e.Epoch, e.TrainLoss, e.TrainAccuracy, e.ValidationAccuracy, e.Seconds)).ToList(),
                result.Seconds, recorder.RunId);
            recorder.AddResult("0", genotype.Canonical, scores: [], metrics: new()
            {
                ["val_accuracy"] = result.ValidationAccuracy, ["test_accuracy"] = result.TestAccuracy, ["seconds"] = result.Seconds,
            });
            recorder.Complete(output);
            if (pr.GetValue(GlobalOptions.Json)) console.WriteJson(output);
            else
            {
                foreach (var e in output.Epochs)
                    console.Out.WriteLine($"epoch {e.Epoch}: loss {e.TrainLoss:F4}, train acc {e.TrainAccuracy:P2}, val acc {Fmt(e.ValAccuracy)} ({e.Seconds:F1} s)");
                console.Out.WriteLine(result.Diverged ? "training diverged (non-finite loss)" : $"{genotype.Canonical}: validation {Fmt(result.ValidationAccuracy)}, test {Fmt(result.TestAccuracy)} (run {recorder.RunId})");
            }
            return result.Diverged ? 1 : 0;
        });
        return cmd;
    }

    private static string Fmt(double? acc) => acc is { } a ? a.ToString("P2") : "n/a";

    public sealed record EpochOutput(int Epoch, double TrainLoss, double TrainAccuracy, double? ValAccuracy, double Seconds);
    public sealed record TrainOutput(string Arch, string Dataset, double? ValAccuracy, double? TestAccuracy, bool Diverged, IReadOnlyList<EpochOutput> Epochs, double Seconds, long? RunId);
}

/// <summary>An IProgress that reports synchronously on the caller's thread (Progress&lt;T&gt; posts to the thread pool).</summary>
public sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}

/// <summary>SGD options, one instance per command (defaults differ between train and search).</summary>
public sealed class TrainingCliOptions
{
    public TrainingCliOptions(Command cmd, int defaultEpochs)
    {
        Epochs = new("--epochs") { Description = "Training epochs.", DefaultValueFactory = _ => defaultEpochs };
        foreach (var o in new Option[] { Epochs, BatchSize, LearningRate, Momentum, WeightDecay }) cmd.Options.Add(o);
    }

    public Option<int> Epochs { get; }
    public Option<int> BatchSize { get; } = new("--batch-size") { Description = "Minibatch size.", DefaultValueFactory = _ => 128 };
    public Option<double> LearningRate { get; } = new("--lr") { Description = "Peak learning rate (cosine schedule to zero).", DefaultValueFactory = _ => 0.05 };
    public Option<double> Momentum { get; } = new("--momentum") { Description = "SGD momentum.", DefaultValueFactory = _ => 0.9 };
    public Option<double> WeightDecay { get; } = new("--weight-decay") { Description = "L2 weight decay.", DefaultValueFactory = _ => 5e-4 };

    public TrainingOptions Resolve(ParseResult pr)
    {
        var o = new TrainingOptions
        {
            Epochs = pr.GetValue(Epochs),
            BatchSize = pr.GetValue(BatchSize),
            LearningRate = pr.GetValue(LearningRate),
            Momentum = pr.GetValue(Momentum),
            WeightDecay = pr.GetValue(WeightDecay),
        };
        try { o.Validate(); }
        catch (ArgumentOutOfRangeException e) { throw new UsageException($"--{Kebab(e.ParamName)}: {e.Message.Split(" (Parameter")[0]}"); }
        return o;
    }

    private static string Kebab(string? name) => name switch
    {
        nameof(TrainingOptions.LearningRate) => "lr",
        nameof(TrainingOptions.BatchSize) => "batch-size",
        nameof(TrainingOptions.WeightDecay) => "weight-decay",
        null => "option",
        _ => name.ToLowerInvariant(),
    };
}
