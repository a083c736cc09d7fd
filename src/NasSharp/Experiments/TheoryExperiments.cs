using NasSharp.Benchmarks;
using NasSharp.Data;
using NasSharp.Networks;
using NasSharp.Spaces;
using NasSharp.Theory;

namespace NasSharp.Experiments;

/// <summary>A theory run's configuration.</summary>
public sealed record TheoryConfig(SpaceSpec Space, string Arch, DataSpec Data, int Batch, NetworkOptions Network);

/// <summary>What <c>nas theory</c> reports.</summary>
public sealed record TheoryOutput(long? RunId, string Dataset, TheoryReport Report);

/// <summary>
/// The infinite-width NTK of one architecture without building a network (<see cref="ExperimentKind.Theory"/>): on the same
/// seeded batch <c>nas ntk</c> draws, projected onto the sphere ‖x‖² = d. The space must have an analytic NTK
/// (<see cref="IAnalyticNtkSpace"/>).
/// </summary>
public sealed class TheoryExperiment(ISearchSpace space, IGenotype arch, ExperimentData data, int batch, NetworkOptions network, long seed) : IExperiment<TheoryOutput>
{
    public ExperimentKind Kind => ExperimentKind.Theory;
    public object Config { get; } = new TheoryConfig(SpaceSpec.Of(space), arch.Canonical, data.Spec, batch, network);
    public long Seed => seed;

    public TheoryOutput Run(ExperimentContext context)
    {
        if (space is not IAnalyticNtkSpace analytic)
            throw new NotSupportedException($"nas theory needs a space whose networks have an analytic infinite-width NTK; {space.SpaceName} has none (mlp has).");
        if (batch < 2) throw new SettingException($"--batch {batch}: must be at least 2.");
        var report = analytic.Analyze(arch, SphereBatch.From(data.Batches().Fixed(batch, seed)), network);
        var output = new TheoryOutput(context.RunId, data.Name, report);
        context.Journal.Record("theory/0", report, arch.Canonical, space.SpaceName);
        return output;
    }
}

/// <summary>An agreement run's configuration.</summary>
public sealed record AgreementConfig(DataSpec Data, AgreementOptions Options);

/// <summary>What <c>nas theory agreement</c> reports.</summary>
public sealed record AgreementOutput(long? RunId, string Dataset, string Inputs, AgreementResult Result);

/// <summary>Analytic against empirical λ_min of sampled mlp genotypes (<see cref="ExperimentKind.Agreement"/>, <see cref="AnalyticAgreement"/>).</summary>
public sealed class AgreementExperiment(ExperimentData data, AgreementOptions options) : IExperiment<AgreementOutput>
{
    public ExperimentKind Kind => ExperimentKind.Agreement;
    public object Config { get; } = new AgreementConfig(data.Spec, options);
    public long Seed => options.Seed;

    public AgreementOutput Run(ExperimentContext context)
    {
        var result = AnalyticAgreement.Run(data.Splits.Train, options, context.Device, new Progress(context), context.Cancellation);
        return new AgreementOutput(context.RunId, data.Name, "projected onto the sphere ‖x‖² = d", result);
    }

    private sealed class Progress(ExperimentContext context) : IProgress<(int Done, int Total, AgreementItem Item)>
    {
        public void Report((int Done, int Total, AgreementItem Item) p)
        {
            context.Journal.Record($"genotype/{p.Done - 1}", p.Item, p.Item.Arch, MlpSpace.Name);
            context.Report("analytic vs empirical λ_min", p.Done, p.Total, p.Item.Arch);
        }
    }
}

/// <summary>A kernel benchmark's configuration: its settings and the cases it times.</summary>
public sealed record KernelBenchConfig(NtkBenchSettings Settings, IReadOnlyList<string> Cases);

/// <summary>Fast against exact empirical NTK, side by side in one run (<see cref="ExperimentKind.KernelBench"/>, <see cref="NtkBenchmark"/>).</summary>
public sealed class KernelBenchExperiment(IReadOnlyList<INtkBenchCase> cases, NtkBenchSettings settings, Action<string>? log = null) : IExperiment<NtkBenchReport>
{
    public ExperimentKind Kind => ExperimentKind.KernelBench;
    public object Config { get; } = new KernelBenchConfig(settings, [.. cases.Select(c => c.Name)]);
    public long Seed => settings.Seed;

    public NtkBenchReport Run(ExperimentContext context)
    {
        var report = NtkBenchmark.Run(cases, settings, log, context.Cancellation);
        foreach (var row in report.Cases) context.Journal.Record($"{row.Name}/{row.N}", row);
        return report;
    }
}
