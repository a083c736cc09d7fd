using System.CommandLine;
using NasSharp.Benchmarks;
using NasSharp.Networks;
using NasSharp.Search.Nasi;
using NasSharp.Spaces;
using Spectre.Console;

namespace NasSharp.Cli.Commands;

/// <summary>
/// <c>nas bench darts</c>: a NASI search on the DARTS space, then the found genotype and K random genotypes trained under
/// one budget, like for like (the DARTS space has no table of trained accuracies, so the comparison trains its own).
/// </summary>
public static class DartsBenchCommand
{
    public static Command Create(CliConsole console)
    {
        var cmd = new Command("darts",
            "NASI on the DARTS space, then the found genotype and K random genotypes trained under the same budget (resumable: rerun the same command).");
        var random = new Option<int>("--random") { Description = "Random genotypes trained next to the found one.", DefaultValueFactory = _ => 5 };
        var trainChannels = new Option<int>("--train-channels") { Description = "C of the trained networks.", DefaultValueFactory = _ => 16 };
        var trainCells = new Option<int>("--train-cells") { Description = "Cells of the trained networks.", DefaultValueFactory = _ => 8 };
        var seed = SpaceOptions.NewSeed();
        var nasi = new NasiCli(cmd);
        var dataOptions = new DataOptions(cmd);
        var trainingOptions = new TrainingCliOptions(cmd, defaultEpochs: 10);
        foreach (var o in new Option[] { random, trainChannels, trainCells, seed }) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            long s = pr.GetValue(seed);
            var device = GlobalOptions.ResolveDevice(pr);
            var options = nasi.Resolve(pr, s);
            if (options.Data != NasiData.Real || options.Labels != NasiLabels.True)
                throw new UsageException("nas bench darts searches with real images and labels; use nas search --space darts --strategy nasi for the agnostic variants.");
            if (pr.GetValue(random) < 1) throw new UsageException("--random must be at least 1.");
            var network = new DartsNetworkOptions { Channels = pr.GetValue(trainChannels), Layers = pr.GetValue(trainCells) };
            try { network.Validate(); }
            catch (ArgumentOutOfRangeException e) { throw new UsageException(e.Message.Split(" (Parameter")[0]); }
            var truthOptions = new TrainedTruthOptions
            {
                Architectures = pr.GetValue(random), Training = trainingOptions.Resolve(pr), Network = new NetworkOptions { Darts = network }, Seed = s,
            };
            try { truthOptions.Validate(); }
            catch (ArgumentOutOfRangeException e) { throw new UsageException(e.Message.Split(" (Parameter")[0]); }
            var data = dataOptions.Load(pr, console, s, pr.GetResult(dataOptions.Dataset) is { Implicit: false } ? null : "cifar10");
            if (data.Splits.Train.SampleShape.Length != 3)
                throw new UsageException($"--dataset {data.Name}: the DARTS space is a space of image networks.");
            var train = data.Splits.Train;
            var config = new
            {
                space = DartsSpace.Name, dataset = data.Name, data = dataOptions.Describe(pr), nasi = options,
                supernet = new { channels = pr.GetValue(nasi.Channels), cells = pr.GetValue(nasi.Cells) ?? 5 }, trained = network, truthOptions.Training,
                random = truthOptions.Architectures,
            };
            using var recorder = RunRecorder.Start(pr, console, "bench-darts", config, s, resumable: true);
            if (recorder.Resumed) console.Error.WriteLine($"resuming run {recorder.RunId}: {recorder.ResultCount} results already stored");

            // 1. NASI on the supernet; each step is stored, so a killed search resumes at its next step.
            NasiResult search;
            using (var scope = TorchSharp.torch.NewDisposeScope())
            using (var supernet = nasi.BuildSupernet(pr, DartsSpace.Name, train.SampleShape[0], train.NumClasses, s, device, options))
                search = NasiCli.Search(console, supernet, train, train.SampleShape.Select(v => (long)v).ToArray(), train.NumClasses, options, device, recorder);

            // 2. The found genotype first, then K distinct random ones (seeded), each trained exactly as the others.
            var truth = new TrainedTruth(new DartsSpace(), truthOptions);
            var found = search.Architecture;
            var archs = new List<IGenotype> { found };
            archs.AddRange(truth.Architectures().Where(g => g.Canonical != found.Canonical));
            var entries = console.WithProgress("train", sink =>
            {
                var task = sink.Task("genotypes", archs.Count);
                return truth.Run(data.Splits, new StoreTruthJournal(recorder), device,
                    new SyncProgress<(int Done, int Total, string Arch)>(p => task.Report(p.Done, p.Done == 1 ? "found" : $"random {p.Done - 1}")), console.Cancellation, archs);
            });

            var output = Summarise(recorder.RunId, search, entries, options, truthOptions, network, data.Name, pr.GetValue(nasi.Channels), pr.GetValue(nasi.Cells) ?? 5, train.Count);
            recorder.Complete(output);
            if (pr.GetValue(GlobalOptions.Json)) console.WriteJson(output);
            else Render(console, output);
            return 0;
        });
        return cmd;
    }

    public sealed record TrainedOutput(string Role, string Arch, double? ValAccuracy, double? TestAccuracy, bool Diverged, double Seconds);

    public sealed record DartsBenchOutput(long? RunId, string Dataset, string Arch, double SearchSeconds, int Steps, int Batch, int SupernetChannels, int SupernetCells,
        NasiCli.TraceSummary TraceNorm, int TrainChannels, int TrainCells, int Epochs, int TrainImages, IReadOnlyList<TrainedOutput> Trained,
        double? RandomTestMean, double? RandomTestStd, int? FoundRank);

    public static DartsBenchOutput Summarise(long? runId, NasiResult search, IReadOnlyList<TruthEntry> entries, NasiOptions options,
        TrainedTruthOptions truth, DartsNetworkOptions network, string dataset, int supernetChannels, int supernetCells, int trainImages)
    {
        var trained = entries.Select((e, i) => new TrainedOutput(i == 0 ? "nasi" : "random", e.Arch, e.ValidationAccuracy, e.TestAccuracy, e.Diverged, e.Seconds)).ToList();
        var randomTest = trained.Skip(1).Where(t => t.TestAccuracy is not null).Select(t => t.TestAccuracy!.Value).ToArray();
        var stat = randomTest.Length > 0 ? SearchBenchCommand.MeanStd.Of(randomTest) : null;
        double? mean = stat?.Mean, std = randomTest.Length > 1 ? stat!.Std : null;   // no spread from one genotype
        // Rank of the found genotype by test accuracy among all trained (1 = best), ties counted in its favour.
        int? rank = trained[0].TestAccuracy is { } f ? 1 + randomTest.Count(v => v > f) : null;
        return new DartsBenchOutput(runId, dataset, search.Architecture.Canonical, search.Seconds, options.Steps, options.BatchSize, supernetChannels, supernetCells,
            NasiCli.TraceSummary.Of(search),
            network.Channels, network.Layers, truth.Training.Epochs, trainImages, trained, mean, std, rank);
    }

    private static void Render(CliConsole console, DartsBenchOutput o)
    {
        console.Out.WriteLine($"NASI on darts ({o.Dataset}; supernet C = {o.SupernetChannels}, {o.SupernetCells} cells; T = {o.Steps}, b = {o.Batch}): {o.SearchSeconds:F0} s");
        console.Out.WriteLine($"found: {o.Arch}");
        var t = new Table().Title($"trained: C = {o.TrainChannels}, {o.TrainCells} cells, {o.Epochs} epochs").AddColumn("role").AddColumn("arch")
            .AddColumn(new TableColumn("val acc").RightAligned()).AddColumn(new TableColumn("test acc").RightAligned()).AddColumn(new TableColumn("s").RightAligned());
        foreach (var e in o.Trained)
            t.AddRow(e.Role, Markup.Escape(e.Arch), e.ValAccuracy?.ToString("P2") ?? "n/a", e.Diverged ? "diverged" : e.TestAccuracy?.ToString("P2") ?? "n/a", e.Seconds.ToString("F0"));
        console.Ansi.Write(t);
        if (o.RandomTestMean is { } m)
            console.Out.WriteLine($"random genotypes: test {m:P2} ± {(o.RandomTestStd ?? 0):P2}; the found genotype ranks {o.FoundRank} of {o.Trained.Count} (run {o.RunId})");
    }
}
