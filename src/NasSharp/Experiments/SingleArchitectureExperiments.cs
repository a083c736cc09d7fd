using System.Diagnostics;
using NasSharp.Data;
using NasSharp.Kernels;
using NasSharp.Networks;
using NasSharp.Spaces;
using NasSharp.Training;
using TorchSharp;

namespace NasSharp.Experiments;

/// <summary>A training run's configuration.</summary>
public sealed record TrainConfig(SpaceSpec Space, string Arch, DataSpec Data, TrainingOptions Training);

public sealed record EpochOutput(int Epoch, double TrainLoss, double TrainAccuracyPercent, double? ValAccuracyPercent, double Seconds);

/// <summary>What <c>nas train</c> reports.</summary>
public sealed record TrainOutput(long? RunId, string Space, string Arch, string Dataset, double? ValAccuracyPercent, double? TestAccuracyPercent, bool Diverged,
    IReadOnlyList<EpochOutput> Epochs, double Seconds);

/// <summary>One architecture trained with SGD (<see cref="ExperimentKind.Train"/>): weights from the seed's stream "train-init", minibatch order from "train-order".</summary>
public sealed class TrainExperiment(ISearchSpace space, IGenotype arch, ExperimentData data, TrainingOptions training, long seed) : IExperiment<TrainOutput>
{
    public ExperimentKind Kind => ExperimentKind.Train;
    public object Config { get; } = new TrainConfig(SpaceSpec.Of(space), arch.Canonical, data.Spec, training);
    public long Seed => seed;

    public TrainOutput Run(ExperimentContext context)
    {
        var options = training with { Seed = Seeds.Derive(seed, "train-order") };
        var r = Trainer.FitArchitecture(space, arch, data.Splits, new NetworkOptions(), options, Seeds.Derive(seed, "train-init"), context.Device,
            progress: new EpochProgress(context, options.Epochs), cancellation: context.Cancellation);
        var output = new TrainOutput(context.RunId, space.SpaceName, arch.Canonical, data.Name, r.ValidationAccuracyPercent, r.TestAccuracyPercent, r.Diverged,
            [.. r.Epochs.Select(e => new EpochOutput(e.Epoch, e.TrainLoss, e.TrainAccuracyPercent, e.ValidationAccuracyPercent, e.Seconds))], r.Seconds);
        context.Journal.Record("train/0", output, arch.Canonical, space.SpaceName);
        return output;
    }

    private sealed class EpochProgress(ExperimentContext context, int epochs) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress p) =>
            context.Report("epochs", p.Step * epochs / Math.Max(p.TotalSteps, 1), epochs, $"epoch {p.Epoch} loss {p.Loss:F4}");
    }
}

/// <summary>An NTK run's configuration.</summary>
public sealed record NtkConfig(SpaceSpec Space, string Arch, DataSpec Data, int Batch, NetworkOptions Network, NtkOutput Output, NtkMethod Method);

/// <summary>What <c>nas ntk</c> reports: the spectrum of the empirical NTK (every eigenvalue on request) and how it was computed.</summary>
public sealed record NtkResult(long? RunId, string Space, string Arch, string Dataset, int Batch, double LambdaMin, double LambdaMax, double Trace, double Condition,
    string? NonFiniteReason, NtkMethod Method, string? FastUnsupportedReason, double Seconds, IReadOnlyList<double>? Eigenvalues);

/// <summary>
/// The empirical NTK of one architecture at initialisation on a seeded batch (<see cref="ExperimentKind.Ntk"/>): weights from
/// the stream "ntk-init" of the seed and the genotype, as the eigen strategy scores it.
/// </summary>
public sealed class NtkExperiment(ISearchSpace space, IGenotype arch, ExperimentData data, int batch, NetworkOptions network, NtkOutput output,
    NtkMethod method, bool spectrum, long seed) : IExperiment<NtkResult>
{
    public ExperimentKind Kind => ExperimentKind.Ntk;
    public object Config { get; } = new NtkConfig(SpaceSpec.Of(space), arch.Canonical, data.Spec, batch, network, output, method);
    public long Seed => seed;

    public NtkResult Run(ExperimentContext context)
    {
        if (batch < 2) throw new SettingException($"--batch {batch}: must be at least 2.");
        var inputs = data.Batches().Fixed(batch, seed);
        var clock = Stopwatch.StartNew();
        NtkSpectrum sp;
        NtkMethodChoice choice;
        using (var scope = torch.NewDisposeScope())
        {
            using var model = space.BuildNetwork(arch, inputs.SampleShape, inputs.NumClasses, network, Seeds.Derive(seed, "ntk-init", arch.Canonical, 0), context.Device);
            // Running statistics keep the rows of J per-sample derivatives (batch statistics couple the samples).
            model.eval();
            var (x, _) = inputs.ToTensors(context.Device);
            sp = EmpiricalNtk.Compute(model, x.to(network.DType), output, method, out choice).Spectrum();
        }
        var result = new NtkResult(context.RunId, space.SpaceName, arch.Canonical, data.Name, batch, sp.LambdaMin, sp.LambdaMax, sp.Trace, sp.Condition,
            sp.NonFiniteReason, choice.Used, method == NtkMethod.Auto ? choice.FastUnsupportedReason : null, clock.Elapsed.TotalSeconds,
            spectrum ? [.. sp.Eigenvalues] : null);
        context.Journal.Record("ntk/0", result with { Eigenvalues = null }, arch.Canonical, space.SpaceName);
        return result;
    }
}
