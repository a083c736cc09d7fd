using System.Diagnostics;
using NasSharp.Data;
using NasSharp.Search;
using NasSharp.Search.Bilevel;
using NasSharp.Spaces;

namespace NasSharp.Benchmarks;

/// <summary>
/// What <c>nas bench mkl</c> measured: one mkl search (<see cref="MklStrategy"/>) on N = n_T + n_V points, timed after a
/// warm-up search, split into the analytic kernels and the exponentiated-gradient steps.
/// </summary>
/// <param name="SearchCpuSeconds">The process's CPU seconds (all threads) during the search: what the search costs whatever else the cores run.</param>
/// <param name="KernelShare">The kernels' seconds over the search's.</param>
/// <param name="CholeskySeconds">One float64 Cholesky factorisation of an n_T × n_T positive definite matrix, timed in the same run (median
/// of 5): each exponentiated-gradient step needs one, so <see cref="Steps"/> of them are the steps' floor.</param>
/// <param name="StepsOverFloor">The steps' seconds over <see cref="Steps"/> Cholesky factorisations.</param>
/// <param name="LoadAverage">The machine's one-minute load average at the end (Linux; null elsewhere): wall seconds on shared cores depend on it.</param>
public sealed record MklBenchOutput(string Space, string Dataset, int Candidates, int Points, int TrainPoints, int ValPoints, int Steps, int TorchThreads,
    double WarmupSeconds, double SearchSeconds, double SearchCpuSeconds, double KernelSeconds, double StepSeconds, double KernelShare, double CholeskySeconds, double StepsOverFloor,
    double? LoadAverage,
    string? Arch, double TargetSeconds, bool UnderTarget);

/// <summary>
/// Times an mkl search: first a small search of the same space and data (loads the data, and takes the first calls' slowness
/// of libtorch and the JIT out of the measurement), then the search itself; reports its seconds against a target.
/// </summary>
public static class MklBenchmark
{
    public static MklBenchOutput Run(ISearchSpace space, ExperimentData data, MklOptions options, long seed, double targetSeconds,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(space);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        if (!(targetSeconds > 0)) throw new SettingException($"--target {targetSeconds}: must be positive seconds.");
        var strategy = new MklStrategy(options);
        strategy.Validate(space, data);
        var warmup = Stopwatch.StartNew();
        new MklStrategy(options with { TrainPoints = 8, ValPoints = 8, Steps = 1 }).Run(new SearchContext(space, data, seed) { Cancellation = cancellation });
        double warmupSeconds = warmup.Elapsed.TotalSeconds;
        using var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var outcome = strategy.Run(new SearchContext(space, data, seed) { Cancellation = cancellation });
        double seconds = clock.Elapsed.TotalSeconds;
        process.Refresh();
        double cpuSeconds = (process.TotalProcessorTime - cpu).TotalSeconds;
        double stepSeconds = seconds - outcome.ScoringSeconds, cholesky = CholeskySeconds(options.TrainPoints, seed);
        return new MklBenchOutput(space.SpaceName, data.Name, outcome.Ranked.Count, options.TrainPoints + options.ValPoints, options.TrainPoints, options.ValPoints,
            options.Steps, TorchSharp.torch.get_num_threads(), warmupSeconds, seconds, cpuSeconds, outcome.ScoringSeconds, stepSeconds,
            outcome.ScoringSeconds / seconds, cholesky, stepSeconds / (Math.Max(options.Steps, 1) * cholesky), LoadAverage(), outcome.Arch, targetSeconds,
            seconds < targetSeconds);
    }

    /// <summary>The median seconds of 5 Cholesky factorisations of XXᵀ/n + I (X ∈ R^{n×n} Gaussian, float64), after one untimed.</summary>
    private static double CholeskySeconds(int n, long seed)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        using var generator = new TorchSharp.torch.Generator(unchecked((ulong)seed));
        var x = TorchSharp.torch.randn(n, n, dtype: TorchSharp.torch.ScalarType.Float64, generator: generator);
        var a = x.mm(x.t()).div_(n);
        a.diagonal().add_(1);
        TorchSharp.torch.linalg.cholesky(a);
        var times = new double[5];
        for (int r = 0; r < times.Length; r++)
        {
            var clock = Stopwatch.StartNew();
            TorchSharp.torch.linalg.cholesky(a).Dispose();
            times[r] = clock.Elapsed.TotalSeconds;
        }
        Array.Sort(times);
        return times[times.Length / 2];
    }

    /// <summary>The first field of /proc/loadavg, or null where there is none.</summary>
    private static double? LoadAverage()
    {
        const string path = "/proc/loadavg";
        if (!File.Exists(path)) return null;
        var first = File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        return double.TryParse(first, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var load) ? load : null;
    }
}
