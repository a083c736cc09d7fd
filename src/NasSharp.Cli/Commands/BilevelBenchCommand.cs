using System.CommandLine;
using System.Globalization;
using NasSharp.Experiments;
using NasSharp.Search.Bilevel;
using NasSharp.Spaces;

namespace NasSharp.Cli.Commands;

/// <summary>
/// <c>nas bench planted</c>: train–validation activation search on planted data (<see cref="PlantedExperiment"/>);
/// <c>nas bench spectral</c>: the rank-one estimators' error against the sample size (<see cref="SpectralErrorExperiment"/>).
/// </summary>
public static class BilevelBenchCommand
{
    public static Command Planted(CliConsole console)
    {
        var defaults = new PlantedSettings();
        var cmd = new Command("planted", "Activation search on planted data (a teacher with a known activation mixture α*; every candidate interpolates the training split): " +
            "how often bilevel, mkl, spectral and training-loss selection recover argmax α* as n_V grows in multiples of h, and the largest |validation − test risk| " +
            "over a grid of α against n_V with its log-log slope.");
        var seeds = new Option<int>("--seeds") { Description = "Seeds (planted problems).", DefaultValueFactory = _ => 20 };
        var multiples = new Option<string>("--multiples") { Description = "Validation sizes n_V as multiples of h, comma-separated.", DefaultValueFactory = _ => "1,2,5,10,20" };
        var activations = new Option<string>("--activations") { Description = "The h candidate activations.", DefaultValueFactory = _ => string.Join(",", defaults.Activations.Select(a => a.Token())) };
        var width = new Option<int>("--width") { Description = "p, the hidden width (above --train-points).", DefaultValueFactory = _ => defaults.Width };
        var dimension = new Option<int>("--dimension") { Description = "d, the input dimension.", DefaultValueFactory = _ => defaults.Dimension };
        var trainPoints = new Option<int>("--train-points") { Description = "n_T.", DefaultValueFactory = _ => defaults.TrainPoints };
        var testPoints = new Option<int>("--test-points") { Description = "Samples the test risk is estimated on.", DefaultValueFactory = _ => defaults.TestPoints };
        var noise = new Option<double>("--noise") { Description = "Standard deviation of the label noise.", DefaultValueFactory = _ => defaults.Noise };
        var dominant = new Option<double>("--dominant") { Description = "α* of the teacher's dominant activation.", DefaultValueFactory = _ => defaults.Dominant };
        var steps = new Option<int>("--steps") { Description = "Steps of the bilevel and mkl upper levels.", DefaultValueFactory = _ => 100 };
        var stepSize = new Option<double>("--step-size") { Description = "Their step size (largest change of a logit or log-weight per step).", DefaultValueFactory = _ => 0.2 };
        var ridge = new Option<double>("--ridge") { Description = "λ of mkl's kernel ridge regression.", DefaultValueFactory = _ => 1e-3 };
        var grid = new Option<int>("--grid") { Description = "The α grid of the gap: the simplex in steps of 1/grid.", DefaultValueFactory = _ => 4 };
        var seed = ExperimentCli.NewSeed();
        foreach (var o in new Option[] { seeds, multiples, activations, width, dimension, trainPoints, testPoints, noise, dominant, steps, stepSize, ridge, grid, seed }) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            var config = new PlantedConfig(new PlantedSettings
            {
                Activations = [.. pr.GetValue(activations)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(t =>
                    Activations.TryParse(t, out var a) ? a : throw new UsageException($"--activations: unknown activation '{t}'; known: {Activations.KnownTokens}."))],
                Width = pr.GetValue(width), Dimension = pr.GetValue(dimension), TrainPoints = pr.GetValue(trainPoints), TestPoints = pr.GetValue(testPoints),
                Noise = pr.GetValue(noise), Dominant = pr.GetValue(dominant),
            }, pr.GetValue(seeds), ParseMultiples(pr.GetValue(multiples)!), pr.GetValue(steps), pr.GetValue(stepSize), pr.GetValue(ridge), AlsIterations: 20, pr.GetValue(grid));
            try { PlantedExperiment.Validate(config); }
            catch (SettingException e) { throw new UsageException(e.Message); }
            ExperimentCli.Run(pr, console, new PlantedExperiment(config, pr.GetValue(seed)), o => Render(console, o));
            return 0;
        });
        return cmd;
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

    private static IReadOnlyList<int> ParseMultiples(string text) =>
        [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(t =>
            int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var m) && m >= 1 ? m : throw new UsageException($"--multiples: '{t}' is not a positive whole number."))];

    private static void Render(CliConsole console, PlantedOutput o)
    {
        console.Out.WriteLine($"planted activation search: h = {o.Activations.Count} ({string.Join(", ", o.Activations)}), p = {o.Width}, n_T = {o.TrainPoints}, {o.Seeds} seeds; chance {o.Chance:F0}%");
        var sizes = o.Gap.Select(g => g.ValPoints).ToList();
        console.Out.WriteLine($"{"recovery of argmax α* (%)",-28}" + string.Concat(sizes.Select(n => $"{"n_V=" + n,9}")));
        foreach (var method in o.Recovery.Select(r => r.Method).Distinct())
            console.Out.WriteLine($"{method,-28}" + string.Concat(sizes.Select(n => $"{o.Recovery.Single(r => r.Method == method && r.ValPoints == n).RecoveryRate,9:F0}")));
        console.Out.WriteLine($"{"sup |val − test risk|",-28}" + string.Concat(o.Gap.Select(g => $"{g.MeanSupGap,9:G3}")));
        console.Out.WriteLine($"log-log slope of the gap against n_V: {o.GapSlope:F3} (theory −0.5); {o.Seconds:F1} s (run {o.RunId})");
    }
}
