using System.CommandLine;
using NasSharp.Benchmarks;

namespace NasSharp.Cli.Commands;

/// <summary><c>nas bench truth</c>: train N sampled architectures as ground truth for a space without a table.</summary>
public static class TruthCommand
{
    public static Command Create(CliConsole console)
    {
        var cmd = new Command("truth", "Train N architectures sampled from a space and store their accuracies (resumable: rerun the same command after an interruption).");
        var n = new Option<int>("--n") { Description = "Number of architectures.", DefaultValueFactory = _ => 100 };
        var seed = SpaceOptions.NewSeed();
        var spaceOptions = new SpaceOptions(cmd);
        var dataOptions = new DataOptions(cmd);
        var trainingOptions = new TrainingCliOptions(cmd, defaultEpochs: 2);
        cmd.Options.Add(n);
        cmd.Options.Add(seed);
        cmd.SetAction(pr =>
        {
            var space = spaceOptions.Resolve(pr);
            var device = GlobalOptions.ResolveDevice(pr);
            long s = pr.GetValue(seed);
            var options = new TrainedTruthOptions { Architectures = pr.GetValue(n), Training = trainingOptions.Resolve(pr), Seed = s };
            try { options.Validate(); }
            catch (ArgumentOutOfRangeException e) { throw new UsageException(e.Message.Split(" (Parameter")[0]); }
            var data = dataOptions.Load(pr, console, s);
            var config = new { space = space.Describe(), dataset = data.Name, data = dataOptions.Describe(pr), options };
            using var recorder = RunRecorder.Start(pr, console, "truth", config, s, resumable: true);
            if (recorder.Resumed) console.Error.WriteLine($"resuming run {recorder.RunId}: {recorder.ResultCount} architectures already trained");
            var truth = new TrainedTruth(space, options);
            var entries = console.WithProgress("truth", sink =>
            {
                var task = sink.Task("training", options.Architectures);
                return truth.Run(data.Splits, new StoreTruthJournal(recorder), device,
                    new SyncProgress<(int Done, int Total, string Arch)>(p => task.Report(p.Done, p.Arch)), console.Cancellation);
            });
            var finite = entries.Where(e => e.TestAccuracy is not null).Select(e => e.TestAccuracy!.Value).ToList();
            var output = new
            {
                run_id = recorder.RunId,
                resumed = recorder.Resumed,
                space = space.SpaceName,
                dataset = data.Name,
                n = entries.Count,
                epochs = options.Training.Epochs,
                seed = s,
                diverged = entries.Count(e => e.Diverged),
                test_accuracy_mean = finite.Count > 0 ? finite.Average() : (double?)null,
                test_accuracy_min = finite.Count > 0 ? finite.Min() : (double?)null,
                test_accuracy_max = finite.Count > 0 ? finite.Max() : (double?)null,
                entries = entries.Select(e => new { index = e.Index, arch = e.Arch, val_accuracy = e.ValidationAccuracy, test_accuracy = e.TestAccuracy, diverged = e.Diverged, seconds = e.Seconds }).ToList(),
            };
            recorder.Complete(new { output.n, output.diverged, output.test_accuracy_mean, output.test_accuracy_min, output.test_accuracy_max });
            if (pr.GetValue(GlobalOptions.Json)) console.WriteJson(output);
            else console.Out.WriteLine($"run {recorder.RunId}: {entries.Count} architectures trained on {data.Name}; test accuracy " +
                $"mean {output.test_accuracy_mean:P2}, min {output.test_accuracy_min:P2}, max {output.test_accuracy_max:P2}; {output.diverged} diverged. " +
                $"Use it with: nas bench correlate --space {space.SpaceName} --truth {recorder.RunId}");
            return 0;
        });
        return cmd;
    }
}

/// <summary>The truth journal over the results store: item keys <c>truth/i</c>.</summary>
public sealed class StoreTruthJournal(RunRecorder recorder) : ITruthJournal
{
    private readonly Dictionary<string, NasSharp.Store.ResultRecord> existing =
        recorder.Results().ToDictionary(r => r.Record.ItemKey, r => r.Record);

    public TruthEntry? Find(int index, string arch)
    {
        if (!existing.TryGetValue($"truth/{index}", out var r) || r.Arch != arch) return null;
        return FromRecord(index, r);
    }

    public void Record(TruthEntry e) =>
        recorder.AddResult($"truth/{e.Index}", e.Arch, new(), new()
        {
            ["val_accuracy"] = e.ValidationAccuracy, ["test_accuracy"] = e.TestAccuracy, ["diverged"] = e.Diverged ? 1 : 0, ["seconds"] = e.Seconds,
        });

    /// <summary>Reads a completed (or partial) truth run back, for the correlation harness.</summary>
    public static IReadOnlyList<TruthEntry> Read(IEnumerable<NasSharp.Store.StoredResult> results) =>
        results.Where(r => r.Record.ItemKey.StartsWith("truth/", StringComparison.Ordinal) && r.Record.Arch is not null)
               .Select(r => FromRecord(int.Parse(r.Record.ItemKey["truth/".Length..], System.Globalization.CultureInfo.InvariantCulture), r.Record))
               .OrderBy(e => e.Index)
               .ToList();

    private static TruthEntry FromRecord(int index, NasSharp.Store.ResultRecord r)
    {
        double? Opt(string k) => r.Metrics.TryGetValue(k, out var v) ? v : null;
        return new TruthEntry(index, r.Arch!, Opt("val_accuracy"), Opt("test_accuracy"), Opt("diverged") is > 0, Opt("seconds") ?? double.NaN);
    }
}
