using System.Diagnostics;
using NasSharp.Data;
using NasSharp.Experiments;
using NasSharp.Search.Nasi;
using NasSharp.Spaces;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Benchmarks;

/// <summary>How <c>nas bench nasi-gradient</c> runs: NASI's options (its <see cref="NasiOptions.AlphaGradient"/> is set per path), the
/// steps timed per path after <see cref="WarmupSteps"/>, and the seed of the supernet, the Gumbel draws and the batches.</summary>
public sealed record NasiGradientBenchSettings
{
    public NasiOptions Nasi { get; init; } = new();
    public int WarmupSteps { get; init; } = 1;
    public int TimedSteps { get; init; } = 2;
    public long Seed { get; init; } = 1;

    public void Validate()
    {
        Nasi.Validate();
        if (WarmupSteps < 0) throw new SettingException($"--warmup {WarmupSteps}: must be 0 or more.");
        if (TimedSteps < 1) throw new SettingException($"--steps {TimedSteps}: at least one step is timed.");
    }
}

/// <summary>One path: seconds per timed step and the resident-memory peak of its steps (<see cref="ResidentMemory.Method"/>; null where it cannot be read).</summary>
public sealed record NasiGradientPath(string Path, double SecondsPerStep, double? PeakMb, double? ProcessPeakMb);

/// <summary>How far the finite-difference G_t is from the exact one on a timed step: both norms, ‖G_fd − G_exact‖/‖G_exact‖ and their cosine.</summary>
public sealed record NasiGradientAgreement(int Step, double TraceNorm, double ExactNorm, double FiniteDifferenceNorm, double RelativeError, double Cosine);

/// <summary>What <c>nas bench nasi-gradient</c> reports: both paths and the floor (one forward + backward pass of the supernet
/// for g = ∇_θ L̄, the first stage of both), finite difference over exact for time and peak memory, each path's time in floors,
/// and the agreement of their G_t step by step.</summary>
public sealed record NasiGradientBenchReport(
    long? RunId, string Space, string Dataset, int Batch, int TimedSteps, int TorchThreads, double FiniteDifferenceStep, string PeakMemory,
    IReadOnlyList<NasiGradientPath> Paths, double TimeRatio, double? PeakRatio, double FiniteDifferenceFloors, double ExactFloors,
    IReadOnlyList<NasiGradientAgreement> Agreement);

/// <summary>
/// NASI's two α-gradient paths (<see cref="TraceNormGradient"/>) side by side on one supernet, one batch stream and one sequence of
/// Gumbel draws: the same steps <see cref="NasiSearch"/> takes, finite difference first, then exact, then the floor (the same
/// draws and batches, only g = ∇_θ L̄: one forward and backward pass), each one's peak measured from a baseline after the
/// previous one's memory was given back (<see cref="ResidentMemory.Measure"/>).
/// </summary>
public sealed class NasiGradientBenchmark(ISearchSpace space, ExperimentData data, NasiGradientBenchSettings settings) : IExperiment<NasiGradientBenchReport>
{
    public ExperimentKind Kind => ExperimentKind.GradientBench;
    public object Config { get; } = new NasiGradientBenchConfig(SpaceSpec.Of(space), data.Spec, settings);
    public long Seed => settings.Seed;

    public void Validate()
    {
        settings.Validate();
        new NasiStrategy(settings.Nasi).Validate(space, data);
    }

    public NasiGradientBenchReport Run(ExperimentContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Validate();
        using var scope = NewDisposeScope();
        using var supernet = space.Relaxation!.BuildSupernet(data.SampleShape, data.Classes, Seeds.Derive(settings.Seed, "nasi-supernet"), context.Device);
        if (settings.Nasi.Parameterization == Networks.Parameterization.Ntk) supernet.UseNtkParameterization();
        supernet.train();
        var batches = data.Batches(context.Device);
        var device = supernet.parameters().First().device;
        var dtype = supernet.parameters().First().dtype;
        int total = settings.WarmupSteps + settings.TimedSteps;

        // Runs the warm-up and timed steps of one path under one peak-memory measurement; step(t) returns the step's trace norm.
        NasiGradientPath Timed(string name, Func<int, double> step)
        {
            double seconds = 0;
            var peak = ResidentMemory.Measure(() =>
            {
                var clock = new Stopwatch();
                for (int t = 0; t < total; t++)
                {
                    context.Cancellation.ThrowIfCancellationRequested();
                    if (t == settings.WarmupSteps) clock.Start();
                    double trace = step(t);
                    context.Report(name, t + 1, total, $"trace norm {trace:G4}");
                }
                seconds = clock.Elapsed.TotalSeconds;
            });
            var path = new NasiGradientPath(name, seconds / settings.TimedSteps, peak?.IncreaseMb, peak?.ProcessMb);
            context.Journal.Record($"path/{name}", path);
            return path;
        }

        (NasiGradientPath Path, double[][] Gradients, double[] Traces) Measure(AlphaGradient method, string name)
        {
            var options = settings.Nasi with { AlphaGradient = method };
            var gradients = new double[settings.TimedSteps][];
            var traces = new double[settings.TimedSteps];
            var path = Timed(name, t =>
            {
                var (step, gradient) = NasiSearch.Step(supernet, supernet.Groups, s => batches.Step(s, options.BatchSize, settings.Seed), options,
                    settings.Seed, t, options.Nu, device, dtype);
                if (t >= settings.WarmupSteps) (gradients[t - settings.WarmupSteps], traces[t - settings.WarmupSteps]) = (gradient, step.TraceNorm);
                return step.TraceNorm;
            });
            return (path, gradients, traces);
        }

        // The floor: the same draws and batches, only g = ∇_θ L̄ (the first stage of both paths).
        NasiGradientPath Floor() => Timed("forward-backward", t =>
        {
            using var step = NewDisposeScope();
            // The draw NasiSearch.Step makes, as constants: nothing is differentiated with respect to α.
            var (_, mixingWeights) = NasiSearch.Draw(supernet.Groups, settings.Nasi, settings.Seed, t, device, dtype);
            using (no_grad()) supernet.SetMixingWeights(mixingWeights());
            var (x, y) = batches.Step(t, settings.Nasi.BatchSize, settings.Seed);
            return TraceNorm.Approximation(supernet, x, y, createGraph: false, supernet.GradientFactors).to_type(ScalarType.Float64).item<double>();
        });

        var fd = Measure(AlphaGradient.FiniteDifference, "finite-difference");
        var exact = Measure(AlphaGradient.Exact, "exact");
        var floor = Floor();
        var agreement = Enumerable.Range(0, settings.TimedSteps).Select(i =>
        {
            double[] a = fd.Gradients[i], b = exact.Gradients[i];
            double dot = 0, na = 0, nb = 0, diff = 0;
            for (int k = 0; k < a.Length; k++) { dot += a[k] * b[k]; na += a[k] * a[k]; nb += b[k] * b[k]; diff += (a[k] - b[k]) * (a[k] - b[k]); }
            return new NasiGradientAgreement(settings.WarmupSteps + i + 1, exact.Traces[i], Math.Sqrt(nb), Math.Sqrt(na), Math.Sqrt(diff / nb), dot / Math.Sqrt(na * nb));
        }).ToList();
        double? peakRatio = fd.Path.PeakMb is { } f && exact.Path.PeakMb is { } e && e > 0 ? f / e : null;
        return new NasiGradientBenchReport(context.RunId, space.SpaceName, data.Name, settings.Nasi.BatchSize, settings.TimedSteps, get_num_threads(),
            TraceNormGradient.Step, ResidentMemory.Method, [fd.Path, exact.Path, floor], fd.Path.SecondsPerStep / exact.Path.SecondsPerStep, peakRatio,
            fd.Path.SecondsPerStep / floor.SecondsPerStep, exact.Path.SecondsPerStep / floor.SecondsPerStep, agreement);
    }
}

/// <summary>A gradient benchmark's configuration.</summary>
public sealed record NasiGradientBenchConfig(SpaceSpec Space, DataSpec Data, NasiGradientBenchSettings Settings);
