using System.CommandLine;
using System.Globalization;
using NasSharp.Benchmarks;
using NasSharp.Data;
using NasSharp.Experiments;
using NasSharp.Networks;
using NasSharp.Search;
using NasSharp.Search.Bilevel;
using NasSharp.Spaces;
using NasSharp.Training;

namespace NasSharp.Cli.Commands;

/// <summary>
/// <c>nas bench planted</c>: train–validation activation search on planted data (<see cref="PlantedExperiment"/>);
/// <c>nas bench spectral</c>: the rank-one estimators' error against the sample size (<see cref="SpectralErrorExperiment"/>);
/// <c>nas bench activations</c>: activation search on real data against every assignment trained (<see cref="ActivationSearchExperiment"/>).
/// </summary>
public static class BilevelBenchCommand
{
    public static Command Planted(CliConsole console)
    {
        var defaults = new PlantedSettings();
        var cmd = new Command("planted", "Activation search on planted data (a teacher with a known activation mixture α*; every candidate interpolates the training split): " +
            "how often the bilevel strategy (first-order, second-order and implicit hypergradient), mkl, spectral, training-loss selection and the exact interpolant hypergradient recover argmax α* as n_V grows in multiples of h, and the largest |validation − test risk| " +
            "over a grid of α against n_V with its log-log slope.");
        var seeds = new Option<int>("--seeds") { Description = "Seeds (planted problems).", DefaultValueFactory = _ => 20 };
        var multiples = new Option<string>("--multiples") { Description = "Validation sizes n_V as multiples of h, comma-separated.", DefaultValueFactory = _ => "1,2,5,10,20" };
        var activations = new Option<string>("--activations") { Description = "The h candidate activations.", DefaultValueFactory = _ => string.Join(",", defaults.Activations.Select(a => a.Token())) };
        var width = new Option<int>("--width") { Description = "p, the hidden width (above --train-points).", DefaultValueFactory = _ => defaults.Width };
        var dimension = new Option<int>("--dimension") { Description = "d, the input dimension.", DefaultValueFactory = _ => defaults.Dimension };
        var trainPoints = new Option<int>("--train-points") { Description = "n_T.", DefaultValueFactory = _ => defaults.TrainPoints };
        var testPoints = new Option<int>("--test-points") { Description = $"Fresh inputs the population (test) risk is estimated on; at least {PlantedProblem.PopulationMultiple} × the largest n_V.", DefaultValueFactory = _ => defaults.TestPoints };
        var gapOnly = new Option<bool>("--gap-only") { Description = "Measure only what depends on no method: the validation–test gap, its slope and the two oracles' recovery (no method runs)." };
        var noise = new Option<double>("--noise") { Description = "Standard deviation of the label noise.", DefaultValueFactory = _ => defaults.Noise };
        var dominant = new Option<double>("--dominant") { Description = "α* of the teacher's dominant activation.", DefaultValueFactory = _ => defaults.Dominant };
        var bilevelDefaults = PlantedExperiment.DefaultBilevel;
        var mklDefaults = new MklOptions();
        var steps = new Option<int>("--steps") { Description = "Upper-level steps of every method (bilevel's α steps, mkl's and the interpolant hypergradient's).", DefaultValueFactory = _ => bilevelDefaults.Steps };
        var innerSteps = new Option<int>("--inner-steps") { Description = "bilevel: weight steps before each α step.", DefaultValueFactory = _ => bilevelDefaults.InnerSteps };
        var weightLr = new Option<double>("--weight-lr") { Description = "bilevel: learning rate of the readout's gradient descent (also ξ of the second-order step).", DefaultValueFactory = _ => bilevelDefaults.WeightLr };
        var momentum = new Option<double>("--weight-momentum") { Description = "bilevel: heavy-ball momentum of the readout's steps.", DefaultValueFactory = _ => bilevelDefaults.Momentum };
        var alphaLr = new Option<double>("--alpha-lr") { Description = "bilevel: learning rate of α.", DefaultValueFactory = _ => bilevelDefaults.AlphaLr };
        var stepSize = new Option<double>("--step-size") { Description = "The interpolant hypergradient: the largest change of a logit per step.", DefaultValueFactory = _ => 0.2 };
        var mklStepSize = new Option<double>("--mkl-step-size") { Description = "mkl: the largest change of a log-weight per step.", DefaultValueFactory = _ => mklDefaults.StepSize };
        var ridge = new Option<double>("--ridge") { Description = "λ of mkl's kernel ridge regression.", DefaultValueFactory = _ => mklDefaults.Ridge };
        var grid = new Option<int>("--grid") { Description = "The α grid of the gap: the simplex in steps of 1/grid.", DefaultValueFactory = _ => 4 };
        var seed = ExperimentCli.NewSeed();
        foreach (var o in new Option[] { seeds, multiples, activations, width, dimension, trainPoints, testPoints, gapOnly, noise, dominant, steps, innerSteps, weightLr, momentum, alphaLr, stepSize, mklStepSize, ridge, grid, seed }) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            var config = new PlantedConfig(new PlantedSettings
            {
                Activations = ParseActivations(pr.GetValue(activations)!),
                Width = pr.GetValue(width), Dimension = pr.GetValue(dimension), TrainPoints = pr.GetValue(trainPoints), TestPoints = pr.GetValue(testPoints),
                Noise = pr.GetValue(noise), Dominant = pr.GetValue(dominant),
            }, pr.GetValue(seeds), ParseMultiples(pr.GetValue(multiples)!),
                bilevelDefaults with { Steps = pr.GetValue(steps), InnerSteps = pr.GetValue(innerSteps), WeightLr = pr.GetValue(weightLr), Momentum = pr.GetValue(momentum), AlphaLr = pr.GetValue(alphaLr) },
                mklDefaults with { Steps = pr.GetValue(steps), StepSize = pr.GetValue(mklStepSize), Ridge = pr.GetValue(ridge) },
                InterpolantSteps: pr.GetValue(steps), InterpolantStepSize: pr.GetValue(stepSize), AlsIterations: 20, pr.GetValue(grid))
            { GapOnly = pr.GetValue(gapOnly) };
            try { PlantedExperiment.Validate(config); }
            catch (SettingException e) { throw new UsageException(e.Message); }
            ExperimentCli.Run(pr, console, new PlantedExperiment(config, pr.GetValue(seed)), o => Render(console, o));
            return 0;
        });
        return cmd;
    }

    public static Command ActivationSearch(CliConsole console)
    {
        var cmd = new Command("activations", "Activation search on real data against its exhaustive ground truth: every activation assignment of a small plain mlp " +
            "trained on each dataset with several seeds, then what bilevel, mkl, spectral (at each n_V), eigen (λ_min) and training-loss selection pick, " +
            "each pick's mean test accuracy and its gap to the best (resumable: rerun the same command after an interruption).");
        var datasets = new Option<string>("--datasets") { Description = "Comma-separated datasets.", DefaultValueFactory = _ => "fashion-mnist,cifar10" };
        var trainSize = new Option<string>("--train-size") { Description = "Training samples of each dataset (the ground truth trains on all of them).", DefaultValueFactory = _ => "2000" };
        var valSize = new Option<string>("--val-size") { Description = "Validation samples held out of the official training set (at least the largest --val-points).", DefaultValueFactory = _ => "1000" };
        var testSize = new Option<string>("--test-size") { Description = "Test samples the ground truth's accuracy is measured on.", DefaultValueFactory = _ => "2000" };
        var mlp = new PlainMlpOptions(cmd, width: 128);
        var truthSeeds = new Option<int>("--truth-seeds") { Description = "Training seeds of the ground truth (its accuracy is their mean).", DefaultValueFactory = _ => 3 };
        var searchSeeds = new Option<int>("--search-seeds") { Description = "Seeds of each search (samples, initialisation).", DefaultValueFactory = _ => 2 };
        var trainPoints = new Option<int>("--train-points") { Description = "n_T: training samples of the bilevel, mkl and spectral lower levels.", DefaultValueFactory = _ => 500 };
        var valPoints = new Option<string>("--val-points") { Description = "The validation sizes n_V swept, comma-separated.", DefaultValueFactory = _ => "16,64,256,512" };
        var seed = ExperimentCli.NewSeed();
        var training = new SettingOptions(cmd, TrainingSettings.Specs(20));
        foreach (var o in new Option[] { datasets, trainSize, valSize, testSize, truthSeeds, searchSeeds, trainPoints, valPoints, seed }) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            long s = pr.GetValue(seed);
            var space = mlp.Space(pr);
            var data = pr.GetValue(datasets)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(name =>
                DataOptions.Load(pr, console, Checked(new DataSpec { Dataset = name, TrainSize = pr.GetValue(trainSize), ValidationSize = pr.GetValue(valSize), TestSize = pr.GetValue(testSize) }), s)).ToList();
            int nT = pr.GetValue(trainPoints);
            var experiment = new ActivationSearchExperiment(space, data, pr.GetValue(truthSeeds), pr.GetValue(searchSeeds), TrainingSettings.Read(training.Read(pr), 20),
                new NetworkOptions(), ParseMultiples(pr.GetValue(valPoints)!, "--val-points"), new BilevelOptions { TrainPoints = nT }, new MklOptions { TrainPoints = nT },
                new SpectralOptions { TrainPoints = nT }, new EigenSearchOptions(), s);
            try { experiment.Validate(); }
            catch (SettingException e) { throw new UsageException(e.Message); }
            ExperimentCli.Run(pr, console, experiment, o => RenderActivations(console, o));
            return 0;
        });
        return cmd;
    }

    public static Command Mkl(CliConsole console)
    {
        var cmd = new Command("mkl", "Times one mkl search (analytic NTK of every activation assignment, kernel ridge, exponentiated gradient) on N = n_T + n_V points " +
            "after a warm-up search, against a target in seconds; prints the kernels' share.");
        var dataset = new Option<string>("--dataset") { Description = "Dataset.", DefaultValueFactory = _ => "fashion-mnist" };
        var trainSize = new Option<string>("--train-size") { Description = "Training samples kept (at least --train-points).", DefaultValueFactory = _ => "2000" };
        var valSize = new Option<string>("--val-size") { Description = "Validation samples held out (at least --val-points).", DefaultValueFactory = _ => "500" };
        var trainPoints = new Option<int>("--train-points") { Description = "n_T.", DefaultValueFactory = _ => 750 };
        var valPoints = new Option<int>("--val-points") { Description = "n_V.", DefaultValueFactory = _ => 250 };
        var mlp = new PlainMlpOptions(cmd, width: 256);
        var steps = new Option<int>("--steps") { Description = "Exponentiated-gradient steps.", DefaultValueFactory = _ => 100 };
        var target = new Option<double>("--target") { Description = "The target: the search's seconds must be below it.", DefaultValueFactory = _ => 10 };
        var seed = ExperimentCli.NewSeed();
        foreach (var o in new Option[] { dataset, trainSize, valSize, trainPoints, valPoints, steps, target, seed }) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            var space = mlp.Space(pr);
            var spec = Checked(new DataSpec { Dataset = pr.GetValue(dataset)!, TrainSize = pr.GetValue(trainSize), ValidationSize = pr.GetValue(valSize) });
            var options = new MklOptions { TrainPoints = pr.GetValue(trainPoints), ValPoints = pr.GetValue(valPoints), Steps = pr.GetValue(steps) };
            MklBenchOutput o;
            try
            {
                options.Validate();
                o = MklBenchmark.Run(space, DataOptions.Load(pr, console, spec, pr.GetValue(seed)), options, pr.GetValue(seed), pr.GetValue(target), console.Cancellation);
            }
            catch (SettingException e) { throw new UsageException(e.Message); }
            if (pr.GetValue(GlobalOptions.Json)) { console.WriteJson(o); return 0; }
            console.Out.WriteLine($"mkl search on {o.Space} ({o.Candidates} assignments), {o.Dataset}, N = {o.Points} ({o.TrainPoints} + {o.ValPoints}), {o.TorchThreads} torch threads");
            console.Out.WriteLine($"search {o.SearchSeconds:F2} s ({o.SearchCpuSeconds:F2} CPU s): kernels {o.KernelSeconds:F2} s ({100 * o.KernelShare:F0}%), {o.Steps} steps {o.StepSeconds:F2} s; " +
                $"search / kernels {o.SearchSeconds / o.KernelSeconds:F2}; one {o.TrainPoints}² Cholesky {1000 * o.CholeskySeconds:F1} ms, {o.Steps} steps / {o.Steps} Cholesky {o.StepsOverFloor:F2}; warm-up {o.WarmupSeconds:F2} s; load average {(o.LoadAverage is { } l ? l.ToString("F1", CultureInfo.InvariantCulture) : "unknown")}; selected {o.Arch}");
            console.Out.WriteLine($"target {o.TargetSeconds:G} s: {(o.UnderTarget ? "met" : "not met")}");
            return 0;
        });
        return cmd;
    }

    /// <summary>A plain <c>mlp</c> (no skips) of the activation-search benchmarks: <c>--depth</c>, <c>--width</c>, <c>--activations</c>.</summary>
    private sealed class PlainMlpOptions
    {
        private readonly Option<int> depth = new("--depth") { Description = "Hidden layers of the mlp.", DefaultValueFactory = _ => 2 };
        private readonly Option<int> width;
        private readonly Option<string> activations = new("--activations") { Description = "The candidate activations of every layer.", DefaultValueFactory = _ => "relu,tanh,gelu,sigmoid" };

        public PlainMlpOptions(Command cmd, int width)
        {
            this.width = new("--width") { Description = "Hidden width of the mlp.", DefaultValueFactory = _ => width };
            foreach (var o in new Option[] { depth, this.width, activations }) cmd.Options.Add(o);
        }

        public MlpSpace Space(ParseResult pr)
        {
            if (pr.GetValue(depth) is < 1 or > MlpGenotype.MaxDepth) throw new UsageException($"--depth {pr.GetValue(depth)}: must be in 1..{MlpGenotype.MaxDepth}.");
            if (pr.GetValue(width) is < 1 or > MlpGenotype.MaxWidth) throw new UsageException($"--width {pr.GetValue(width)}: must be in 1..{MlpGenotype.MaxWidth}.");
            return new MlpSpace(pr.GetValue(depth), pr.GetValue(width), ParseActivations(pr.GetValue(activations)!), allowSkips: false);
        }
    }

    private static DataSpec Checked(DataSpec spec)
    {
        try { spec.Validate(); }
        catch (SettingException e) { throw new UsageException(e.Message); }
        return spec;
    }

    private static IReadOnlyList<Activation> ParseActivations(string text) =>
        [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(t =>
            Activations.TryParse(t, out var a) ? a : throw new UsageException($"--activations: unknown activation '{t}'; known: {Activations.KnownTokens}."))];

    private static void RenderActivations(CliConsole console, ActivationSearchOutput o)
    {
        console.Out.WriteLine($"activation search on {o.Space} ({o.Candidates} assignments), ground truth: {o.TruthSeeds} training seeds, {o.Epochs} epochs; {o.SearchSeeds} search seeds");
        foreach (var dataset in o.Datasets)
        {
            if (!o.Best.TryGetValue(dataset, out var best)) { console.Out.WriteLine($"{dataset}: no architecture has a ground truth (every one diverged)."); continue; }
            console.Out.WriteLine($"{dataset}: best {best} at {o.BestTestAccuracyPercent[dataset]:F2}% (mean test accuracy); gap of each method's picks in points (n_V = 0: reads no validation sample)");
            foreach (var r in o.Methods.Where(r => r.Dataset == dataset))
                console.Out.WriteLine($"  {r.Method,-20} n_V={r.ValPoints,-5} {(r.GapPoints is { } g ? g.ToString("F2", CultureInfo.InvariantCulture) : "–"),7}  {string.Join(", ", r.Picks.Select(p => p ?? "none"))}");
        }
        console.Out.WriteLine($"{o.Seconds:F1} s (run {o.RunId})");
    }

    public static Command Spectral(CliConsole console)
    {
        var cmd = new Command("spectral", "Rank-one activation regression f(x) = Σ α_i ⟨θ, φ_i(x)⟩ on planted Gaussian features: the error ‖α̂ − α*‖ of the spectral " +
            "estimate, of alternating least squares from it and of gradient descent, against the sample size n in multiples of h + p, with seconds.");
        var candidates = new Option<int>("--candidates") { Description = "h, the number of candidate feature maps.", DefaultValueFactory = _ => 4 };
        var features = new Option<int>("--features") { Description = "p, the features per candidate.", DefaultValueFactory = _ => 20 };
        var noise = new Option<double>("--noise") { Description = "Standard deviation of the label noise.", DefaultValueFactory = _ => 0.05 };
        var multiples = new Option<string>("--multiples") { Description = "Sample sizes n as multiples of h + p, comma-separated.", DefaultValueFactory = _ => "1,2,5,10,20" };
        var seeds = new Option<int>("--seeds") { Description = "Planted problems per sample size.", DefaultValueFactory = _ => 5 };
        var lr = new Option<double>("--lr") { Description = "Gradient descent's step size η (divided by the mean squared feature norm per candidate).", DefaultValueFactory = _ => 0.5 };
        var gdSteps = new Option<int>("--gd-steps") { Description = "Gradient descent's steps.", DefaultValueFactory = _ => 2000 };
        var seed = ExperimentCli.NewSeed();
        foreach (var o in new Option[] { candidates, features, noise, multiples, seeds, lr, gdSteps, seed }) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            var config = new SpectralErrorConfig(pr.GetValue(candidates), pr.GetValue(features), pr.GetValue(noise), ParseMultiples(pr.GetValue(multiples)!),
                pr.GetValue(seeds), AlsIterations: 20, pr.GetValue(lr), pr.GetValue(gdSteps));
            if (config.Candidates < 2 || config.Features < 1 || config.Seeds < 1 || config.GdSteps < 1 || !(config.LearningRate > 0) || !(config.Noise >= 0))
                throw new UsageException("--candidates must be at least 2; --features, --seeds and --gd-steps positive; --lr positive; --noise non-negative.");
            ExperimentCli.Run(pr, console, new SpectralErrorExperiment(config, pr.GetValue(seed)), o =>
            {
                console.Out.WriteLine($"rank-one regression, h = {o.Candidates}, p = {o.Features}, noise {o.Noise}, {o.Seeds} seeds: mean ‖α̂ − α*‖ (mean seconds)");
                var sizes = o.Rows.Select(r => r.Samples).Distinct().ToList();
                console.Out.WriteLine($"{"method",-14}" + string.Concat(sizes.Select(n => $"{"n=" + n,22}")));
                foreach (var method in o.Rows.Select(r => r.Method).Distinct())
                    console.Out.WriteLine($"{method,-14}" + string.Concat(sizes.Select(n => o.Rows.Single(r => r.Method == method && r.Samples == n))
                        .Select(r => $"{r.MeanError,12:G3} ({r.MeanSeconds,7:F4})")));
                console.Out.WriteLine($"{o.Seconds:F1} s (run {o.RunId})");
            });
            return 0;
        });
        return cmd;
    }

    private static IReadOnlyList<int> ParseMultiples(string text, string option = "--multiples") =>
        [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(t =>
            int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var m) && m >= 1 ? m : throw new UsageException($"{option}: '{t}' is not a positive whole number."))];

    private static void Render(CliConsole console, PlantedOutput o)
    {
        console.Out.WriteLine($"planted activation search: h = {o.Activations.Count} ({string.Join(", ", o.Activations)}), p = {o.Width}, n_T = {o.TrainPoints}, " +
            $"d = {o.Dimension}, dominant α* = {o.Dominant}, label noise {o.Noise}, {o.Seeds} seeds; chance {o.Chance:F0}%");
        var sizes = o.Gap.Select(g => g.ValPoints).ToList();
        console.Out.WriteLine($"{"recovery of argmax α* (%)",-28}" + string.Concat(sizes.Select(n => $"{"n_V=" + n,9}")));
        foreach (var method in o.Recovery.Select(r => r.Method).Distinct())
            console.Out.WriteLine($"{method,-28}" + string.Concat(sizes.Select(n => $"{o.Recovery.Single(r => r.Method == method && r.ValPoints == n).RecoveryRate,9:F0}")));
        console.Out.WriteLine($"{"sup |val − test risk|",-28}" + string.Concat(o.Gap.Select(g => $"{g.MeanSupGap,9:G3}")));
        console.Out.WriteLine($"log-log slope of the gap against n_V: {o.GapSlope:F3} (theory −0.5); {o.Seconds:F1} s (run {o.RunId})");
    }
}
