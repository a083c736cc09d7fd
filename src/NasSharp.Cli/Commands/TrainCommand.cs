using System.CommandLine;
using NasSharp.Experiments;
using NasSharp.Training;

namespace NasSharp.Cli.Commands;

/// <summary><c>nas train</c>: train one architecture and report validation and test accuracy.</summary>
public static class TrainCommand
{
    public static Command Create(CliConsole console, Registries registries)
    {
        var cmd = new Command("train", "Train one architecture with SGD (momentum, weight decay, cosine schedule) and report accuracies (%).");
        var arch = new Option<string>("--arch") { Description = "Canonical genotype of --space, e.g. w256/relu-relu+1.", Required = true };
        var seed = ExperimentCli.NewSeed();
        var spaceOptions = new SpaceCliOptions(cmd, registries.Spaces);
        cmd.Options.Add(arch);
        cmd.Options.Add(seed);
        var dataOptions = new DataOptions(cmd, batches: false);
        var training = new SettingOptions(cmd, TrainingSettings.Specs(5));
        cmd.SetAction(pr =>
        {
            var space = spaceOptions.Resolve(pr);
            var genotype = spaceOptions.Definition(pr).Parse(pr.GetValue(arch)!);
            long s = pr.GetValue(seed);
            var data = DataOptions.Load(pr, console, dataOptions.Spec(pr), s);
            var output = ExperimentCli.Run(pr, console, new TrainExperiment(space, genotype, data, TrainingSettings.Read(training.Read(pr), 5), s), o =>
            {
                foreach (var e in o.Epochs)
                    console.Out.WriteLine($"epoch {e.Epoch}: loss {e.TrainLoss:F4}, train acc {e.TrainAccuracyPercent:F2}%, val acc {Percent(e.ValAccuracyPercent)} ({e.Seconds:F1} s)");
                console.Out.WriteLine(o.Diverged ? "training diverged (non-finite loss)" : $"{o.Arch}: validation {Percent(o.ValAccuracyPercent)}, test {Percent(o.TestAccuracyPercent)} (run {o.RunId})");
            }, resumable: false);
            return output.Diverged ? 1 : 0;
        });
        return cmd;
    }

    public static string Percent(double? accuracy) => accuracy is { } a ? $"{a:F2}%" : "n/a";
}
