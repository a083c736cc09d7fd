using System.CommandLine;
using NasSharp.Experiments;
using NasSharp.Search.WeightSharing;
using NasSharp.Spaces;
using NasSharp.Training;
using Spectre.Console;

namespace NasSharp.Cli.Commands;

/// <summary><c>nas bench fairness</c>: single-path supernets under SPOS, FairNAS and isometry-fair, ranked against a space's table.</summary>
public static class FairnessBenchCommand
{
    /// <summary>The budget this command runs by default: an NB201 supernet with C = 8 and N = 1, one epoch over 1,000 CIFAR-10 images
    /// (16 steps of 64), 200 cells evaluated on 128 validation images after recalibrating on 32 (about half an hour per regime on
    /// two heavily shared cores).</summary>
    private const int DefaultEpochs = 1;
    private const int DefaultBatchSize = 64;

    public static Command Create(CliConsole console, Registries registries)
    {
        var cmd = new Command("fairness", "Weight-sharing fairness: a single-path supernet trained under each regime (spos: one uniform path per step; fairnas: " +
            "every candidate of every edge once per step; isometry-fair: fairnas on a delta-orthogonal supernet at relu's edge of chaos) with the same steps and " +
            "images, then the same sampled cells evaluated with inherited weights (batch norm recalibrated): Kendall τ and Spearman ρ against the table, and " +
            "each regime's selected cell (resumable: rerun the same command). On nb201 the supernet has C = 8 and N = 1 unless --channels or --cells is given.");
        var regimes = new Option<string>("--regimes") { Description = $"Comma-separated regimes: {SupernetRegimes.KnownTokens}.", DefaultValueFactory = _ => string.Join(",", SupernetRegimes.All.Select(r => r.Token())) };
        var seeds = new Option<int>("--seeds") { Description = "Supernet seeds per regime.", DefaultValueFactory = _ => 1 };
        var n = new Option<int>("--n") { Description = "Cells sampled from the table and evaluated in every supernet (the same cells for every regime and seed).", DefaultValueFactory = _ => 200 };
        var calibration = new Option<int>("--calibration") { Description = "Training images of the batch-norm recalibration batch (fixed by --seed).", DefaultValueFactory = _ => 32 };
        var topK = new Option<int>("--top-k") { Description = "isometry-fair selects, among the K most accurate cells in its supernet, the one closest to dynamical isometry (jacobian_isometry).", DefaultValueFactory = _ => 10 };
        var isometryBatch = new Option<int>("--isometry-batch") { Description = "Images jacobian_isometry is measured on.", DefaultValueFactory = _ => 16 };
        var target = new Option<string>("--target") { Description = "The table's target the cells are ranked against.", DefaultValueFactory = _ => "cifar10" };
        var seed = ExperimentCli.NewSeed();
        var spaceOptions = new SpaceCliOptions(cmd, registries.Spaces, Nb201Space.Name);
        var training = new SettingOptions(cmd, TrainingSettings.Specs(DefaultEpochs).Select(s => s.Name == "batch-size" ? s with { Default = $"{DefaultBatchSize}" } : s));
        var dataOptions = new DataOptions(cmd, "cifar10", batches: false);
        foreach (var o in new Option[] { regimes, seeds, n, calibration, topK, isometryBatch, target, seed }) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            long s = pr.GetValue(seed);
            var definition = spaceOptions.Definition(pr);
            var settings = spaceOptions.Settings(pr);
            // A small NB201 skeleton by default (C = 8, N = 1), so one supernet trains in minutes.
            if (definition.Name == Nb201Space.Name)
            {
                if (!settings.IsGiven("channels")) settings = settings.With("channels", "8");
                if (!settings.IsGiven("cells")) settings = settings.With("cells", "1");
            }
            var space = definition.CreateFrom(settings);
            if (FairnessExperiment.CheckSpace(space) is { } problem) throw new UsageException(problem);
            var table = Tables.Require(space, pr, "bench fairness ranks the supernet's cells against a table");
            var spec = dataOptions.Spec(pr) with
            {
                TrainSize = pr.GetValue(dataOptions.TrainSize) ?? "1000",
                ValidationSize = pr.GetValue(dataOptions.ValidationSize) ?? "128",
                TestSize = pr.GetValue(dataOptions.TestSize) ?? "100",
            };
            var config = new FairnessConfig(SpaceSpec.Of(space), spec,
                [.. pr.GetValue(regimes)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)], pr.GetValue(seeds),
                TrainingSettings.Read(training.Read(pr), DefaultEpochs, new TrainingOptions { BatchSize = DefaultBatchSize }), pr.GetValue(n),
                pr.GetValue(calibration), pr.GetValue(topK), pr.GetValue(isometryBatch), pr.GetValue(target)!);
            var experiment = new FairnessExperiment(space, DataOptions.Load(pr, console, spec, s), table, config, s);
            try { experiment.Validate(); }
            catch (SettingException e) { throw new UsageException(e.Message); }
            ExperimentCli.Run(pr, console, experiment, o => Render(console, o));
            return 0;
        });
        return cmd;
    }

    private static string F(double? v, string format = "F3") => v is { } x ? x.ToString(format, System.Globalization.CultureInfo.InvariantCulture) : "–";

    private static void Render(CliConsole console, FairnessOutput o)
    {
        console.Out.WriteLine($"{o.Space} supernets on {o.Dataset} ({o.TrainImages} training, {o.ValidationImages} validation images; {o.Epochs} epochs of batch {o.BatchSize}, " +
            $"{o.StepsPerRun} steps): {o.Cells.Count} cells ranked against {o.Target} (run {o.RunId})");
        var t = new Table().AddColumn("regime").AddColumn(new TableColumn("seeds").RightAligned()).AddColumn(new TableColumn("τ").RightAligned())
            .AddColumn(new TableColumn("ρ").RightAligned()).AddColumn("selected (per seed)").AddColumn(new TableColumn($"{o.Target} of selected").RightAligned())
            .AddColumn(new TableColumn("min/run").RightAligned());
        foreach (var r in o.Regimes)
        {
            var mine = o.Runs.Where(x => x.Regime == r.Regime).ToList();
            t.AddRow(r.Regime, $"{r.Runs}", $"{F(r.KendallMean)} ± {F(r.KendallSd)}", $"{F(r.SpearmanMean)} ± {F(r.SpearmanSd)}",
                Markup.Escape(string.Join(" ", mine.Select(x => x.Selected))), F(r.SelectedTestAccuracyMean, "F2"), F(r.MinutesPerRun, "F1"));
        }
        console.Ansi.Write(t);
        var g = o.Targets;
        console.Out.WriteLine($"isometry-fair τ − spos {F(g.MarginOverSpos)} (pooled sd {F(g.PooledSdSpos)}), − fairnas {F(g.MarginOverFairNas)} (pooled sd {F(g.PooledSdFairNas)}): " +
            $"{(g.TauAboveBoth is { } b ? b ? "met" : "not met" : "needs every regime with 2+ seeds")}; selected cell {F(g.SelectedTestAccuracyMean, "F2")}% ≥ {FairnessExperiment.TargetAccuracyPercent}: " +
            $"{(g.SelectedAtLeast93 is { } a ? a ? "met" : "not met" : "no isometry-fair run")}. `nas report {o.RunId} --out DIR` draws supernet against table accuracy.");
    }
}
