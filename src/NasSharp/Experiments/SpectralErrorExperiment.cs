using System.Diagnostics;
using NasSharp.Search.Bilevel;
using static TorchSharp.torch;

namespace NasSharp.Experiments;

/// <summary>A spectral-error run's configuration: the rank-one problem's sizes, the sample sizes (multiples of h + p), seeds and gradient descent's budget.</summary>
public sealed record SpectralErrorConfig(int Candidates, int Features, double Noise, IReadOnlyList<int> Multiples, int Seeds, int AlsIterations, double LearningRate, int GdSteps);

/// <summary>One method on one seed at one sample size: ‖α̂ − α*‖ and its seconds.</summary>
public sealed record SpectralErrorItem(string Method, int Samples, int Seed, double Error, double Seconds);

/// <summary>A method's mean error and seconds at one sample size.</summary>
public sealed record SpectralErrorRow(string Method, int Multiple, int Samples, double MeanError, double MeanSeconds);

/// <summary>What <c>nas bench spectral</c> reports.</summary>
public sealed record SpectralErrorOutput(long? RunId, int Candidates, int Features, double Noise, int Seeds, IReadOnlyList<SpectralErrorRow> Rows, double Seconds);

/// <summary>
/// The spectral estimator's error against the sample size (<see cref="ExperimentKind.SpectralError"/>): on planted rank-one
/// data with isotropic Gaussian features Φ ∈ R^{p×h} (y = ⟨Φ, θ*α*ᵀ⟩ + noise, α* on the simplex, θ* ~ N(0, I/p)), the
/// distance ‖α̂ − α*‖ of the spectral estimate, of ALS started from it (both steps on the same n samples), and of gradient
/// descent on the same loss, with the seconds each took (<see cref="RankOneRegression"/>).
/// </summary>
public sealed class SpectralErrorExperiment(SpectralErrorConfig config, long seed) : IExperiment<SpectralErrorOutput>
{
    public static IReadOnlyList<string> Methods { get; } = ["spectral", "spectral+als", "gd"];

    public ExperimentKind Kind => ExperimentKind.SpectralError;
    public object Config => config;
    public long Seed => seed;

    public SpectralErrorOutput Run(ExperimentContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (config.Candidates < 2 || config.Features < 1) throw new SettingException("--candidates must be at least 2 and --features at least 1.");
        if (config.Multiples.Count == 0 || config.Multiples.Any(m => m < 1)) throw new SettingException("--multiples: give positive multiples of h + p, e.g. 1,2,5,10.");
        if (config.Seeds < 1 || config.AlsIterations < 1 || config.GdSteps < 1) throw new SettingException("--seeds, ALS iterations and --gd-steps must be positive.");
        var clock = Stopwatch.StartNew();
        var items = new List<SpectralErrorItem>();
        var sizes = config.Multiples.Distinct().Order().Select(m => m * (config.Candidates + config.Features)).ToList();
        int done = 0;
        foreach (var n in sizes)
            for (int s = 0; s < config.Seeds; s++)
            {
                context.Cancellation.ThrowIfCancellationRequested();
                var key = $"n/{n}/seed/{s}";
                if (!context.Journal.TryFind<SpectralErrorItem[]>(key, out var found))
                {
                    found = [.. Measure(n, Seeds.Derive(seed, "spectral-error", n, s), s)];
                    context.Journal.Record(key, found);
                }
                items.AddRange(found);
                context.Report("samples", ++done, sizes.Count * config.Seeds, $"n = {n}");
            }
        var rows = Methods.SelectMany(m => sizes.Select(n =>
        {
            var of = items.Where(i => i.Method == m && i.Samples == n).ToList();
            return new SpectralErrorRow(m, n / (config.Candidates + config.Features), n, of.Average(i => i.Error), of.Average(i => i.Seconds));
        })).ToList();
        return new SpectralErrorOutput(context.RunId, config.Candidates, config.Features, config.Noise, config.Seeds, rows, clock.Elapsed.TotalSeconds);
    }

    private List<SpectralErrorItem> Measure(int n, long drawSeed, int index)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)drawSeed);
        int h = config.Candidates, p = config.Features;
        var rest = rand(new long[] { h }, dtype: ScalarType.Float64, generator: generator);
        var alphaStar = (rest / rest.sum()).data<double>().ToArray();
        var theta = randn(new long[] { p, 1 }, dtype: ScalarType.Float64, generator: generator) / Math.Sqrt(p);
        var x = randn(new long[] { n, p, h }, dtype: ScalarType.Float64, generator: generator);
        var y = einsum("nph,pc,h->nc", x, theta, tensor(alphaStar, dtype: ScalarType.Float64)) + config.Noise * randn(new long[] { n, 1 }, dtype: ScalarType.Float64, generator: generator);
        double Error(double[] alpha) => Math.Sqrt(alpha.Zip(alphaStar, (a, b) => (a - b) * (a - b)).Sum());

        var items = new List<SpectralErrorItem>();
        var clock = Stopwatch.StartNew();
        var spectral = RankOneRegression.Spectral(x, y);
        double spectralSeconds = clock.Elapsed.TotalSeconds;
        items.Add(new SpectralErrorItem("spectral", n, index, Error(spectral.Alpha), spectralSeconds));
        clock.Restart();
        var als = RankOneRegression.AlternatingLeastSquares(x, y, x, y, RankOneRegression.Spectral(x, y), config.AlsIterations);
        items.Add(new SpectralErrorItem("spectral+als", n, index, Error(als.Alpha), clock.Elapsed.TotalSeconds));
        clock.Restart();
        var gd = RankOneRegression.GradientDescent(x, y, config.LearningRate, config.GdSteps, drawSeed);
        items.Add(new SpectralErrorItem("gd", n, index, Error(gd.Alpha), clock.Elapsed.TotalSeconds));
        return items;
    }
}
