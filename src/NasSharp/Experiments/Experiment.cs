using NasSharp.Spaces;
using NasSharp.Store;
using static TorchSharp.torch;

namespace NasSharp.Experiments;

/// <summary>The kinds of experiment a run of the results store can hold; a report is written per kind.</summary>
public enum ExperimentKind
{
    /// <summary>A search by one strategy in one space (<c>nas search</c>).</summary>
    Search,
    /// <summary>Rank correlation of zero-cost proxies with trained accuracy (<c>nas bench correlate</c>).</summary>
    Correlate,
    /// <summary>Sampled architectures trained as ground truth for a space without a table (<c>nas bench truth</c>).</summary>
    Truth,
    /// <summary>Several search methods over several seeds, looked up in a space's table (<c>nas bench search</c>).</summary>
    BenchSearch,
    /// <summary>A search, then the found and random architectures trained under one budget (<c>nas bench train</c>).</summary>
    BenchTrain,
    /// <summary>One architecture trained (<c>nas train</c>).</summary>
    Train,
    /// <summary>One architecture's empirical NTK (<c>nas ntk</c>).</summary>
    Ntk,
    /// <summary>One architecture's infinite-width NTK, its bounds and complexity (<c>nas theory</c>).</summary>
    Theory,
    /// <summary>Analytic against empirical λ_min over sampled architectures (<c>nas theory agreement</c>).</summary>
    Agreement,
    /// <summary>Fast against exact empirical NTK, timed side by side (<c>nas bench ntk</c>).</summary>
    KernelBench,
    /// <summary>Mean-field phases, edges of chaos and Jacobian spectra of deep random networks (<c>nas isometry</c>).</summary>
    Isometry,
    /// <summary>Train–validation activation search on planted data: recovery of argmax α* and the validation–test gap against n_V (<c>nas bench planted</c>).</summary>
    Planted,
    /// <summary>The rank-one estimators' error ‖α̂ − α*‖ against the sample size, with seconds (<c>nas bench spectral</c>).</summary>
    SpectralError,
    /// <summary>Activation search on real data against every assignment trained over several seeds (<c>nas bench activations</c>).</summary>
    ActivationSearch,
    /// <summary>NASI's exact and finite-difference α-gradients, timed and measured side by side (<c>nas bench nasi-gradient</c>).</summary>
    GradientBench,
    /// <summary>Single-path supernets trained under SPOS, FairNAS and isometry-fair: their rank correlation with a table (<c>nas bench fairness</c>).</summary>
    Fairness,
    /// <summary>Which operations NASI's trace norm pulls a relaxed supernet towards, and why (<c>nas bench nasi-operations</c>).</summary>
    TraceNormAnatomy,
}

/// <summary>
/// An experiment: a typed configuration holding every option that changes its results (with its kind and seed, the key a
/// run resumes by) and a run that writes each finished item to the context's journal and returns one output record.
/// </summary>
public interface IExperiment<out TOutput>
{
    ExperimentKind Kind { get; }

    /// <summary>The configuration as a typed record, stored with the run.</summary>
    object Config { get; }

    long Seed { get; }

    /// <summary>
    /// Refuses a usage mistake the configuration alone shows (a strategy that cannot search the space, say) with a
    /// <see cref="SettingException"/>; called before a run is stored, so such a mistake never becomes a run.
    /// </summary>
    void Validate() { }

    /// <summary>
    /// Refuses, with a <see cref="SettingException"/>, a run whose items cannot be computed elsewhere (<see cref="ItemScorers"/>);
    /// called before a run with a dispatcher is stored.
    /// </summary>
    void ValidateDispatch()
    {
        if (!ItemScorers.Supports(Kind))
            throw new SettingException($"--cluster: {ExperimentRun.KindName(Kind)} runs cannot be run on a cluster yet; these can: " +
                $"{string.Join(", ", ItemScorers.Kinds.Select(ExperimentRun.KindName))}.");
    }

    TOutput Run(ExperimentContext context);
}

/// <summary>Where an experiment runs: its journal, device, progress, cancellation, and the run it is stored as.</summary>
public sealed record ExperimentContext
{
    public IRunJournal Journal { get; init; } = new MemoryJournal();
    public Device Device { get; init; } = CPU;
    public IProgress<ExperimentProgress>? Progress { get; init; }
    public CancellationToken Cancellation { get; init; }
    /// <summary>The stored run, when the experiment runs in the results store.</summary>
    public long? RunId { get; init; }
    /// <summary>Whether the stored run existed before (an interrupted run resumed).</summary>
    public bool Resumed { get; init; }
    /// <summary>Where an experiment whose items are independent computes them (a cluster); null computes them in this process.
    /// An experiment that cannot dispatch refuses it in <see cref="IExperiment{TOutput}.Validate"/> (<see cref="ItemScorers"/>).</summary>
    public IItemDispatcher? Dispatcher { get; init; }

    public void Report(string task, int done, int total, string? detail = null) =>
        Progress?.Report(new ExperimentProgress(task, done, total, detail));

    /// <summary>A strategy's progress as this experiment's: each phase ("scoring", "steps", …) a task named
    /// <paramref name="prefix"/> + phase.</summary>
    public IProgress<Search.SearchProgress> ForSearch(string prefix = "") => new SearchProgressAdapter(this, prefix);

    private sealed class SearchProgressAdapter(ExperimentContext context, string prefix) : IProgress<Search.SearchProgress>
    {
        public void Report(Search.SearchProgress value) => context.Report(prefix + value.Phase, value.Done, value.Total, value.Detail);
    }
}

/// <summary>Progress of one task of an experiment (e.g. "scoring", "training"): items done of total, and the current one.</summary>
public readonly record struct ExperimentProgress(string Task, int Done, int Total, string? Detail);

/// <summary>A space as a configuration records it: its name and every setting, from which the registry recreates it.</summary>
public sealed record SpaceSpec(string Name, IReadOnlyDictionary<string, string> Settings)
{
    public static SpaceSpec Of(ISearchSpace space) => new(space.SpaceName, space.Settings);
}
