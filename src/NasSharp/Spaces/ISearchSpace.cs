using System.Numerics;
using NasSharp.Networks;
using static TorchSharp.torch;

namespace NasSharp.Spaces;

/// <summary>
/// A search space: the hub every strategy and experiment works through. It owns its genotypes (parse, sample, mutate,
/// enumerate, count), the network of a genotype, the cost of that network, and optionally a relaxed supernet with its
/// derivation rules (<see cref="Relaxation"/>) and a table of trained accuracies (<see cref="GroundTruth"/>). Spaces are
/// listed in <see cref="SpaceRegistry"/>, which creates them from their <see cref="Settings"/>.
/// </summary>
public interface ISearchSpace
{
    string SpaceName { get; }

    /// <summary>Every setting that defines this space, defaults included, as text: the registry recreates the space from them.</summary>
    IReadOnlyDictionary<string, string> Settings { get; }

    BigInteger Count { get; }

    /// <summary>Parses a genotype and checks that it belongs to this space.</summary>
    IGenotype Parse(string text);

    IGenotype Sample(Random rng);

    IGenotype Mutate(IGenotype genotype, Random rng);

    /// <summary>Every genotype, in a fixed order. Throws when <see cref="Count"/> is too large to list.</summary>
    IEnumerable<IGenotype> Enumerate();

    /// <summary>A short description of the space's settings and size, for reports and <c>nas space</c>.</summary>
    string Describe();

    /// <summary>The parameterisations its networks can be built in, the one its papers trained first.</summary>
    IReadOnlyList<Parameterization> Parameterizations { get; }

    /// <summary>Why a network of this space cannot be built in <paramref name="options"/> for inputs of one sample's
    /// shape <paramref name="sampleShape"/>, or null when it can.</summary>
    string? CheckInput(IReadOnlyList<int> sampleShape, NetworkOptions options);

    /// <summary>
    /// The network of <paramref name="genotype"/> at initialisation, mapping [N, ...sampleShape] to logits [N, classes];
    /// libtorch is seeded with <paramref name="seed"/> right before, so the same seed gives the same weights. Any genotype
    /// of this space's family is built, also one outside the space's sampling settings (e.g. another mlp width).
    /// </summary>
    nn.Module<Tensor, Tensor> BuildNetwork(IGenotype genotype, IReadOnlyList<int> sampleShape, int classes, NetworkOptions options, long seed, Device? device = null);

    /// <summary>Trainable parameters and multiply-adds per sample of the network of <paramref name="genotype"/>.</summary>
    NetworkCost Cost(IGenotype genotype, IReadOnlyList<int> sampleShape, int classes);

    /// <summary>The relaxed (weight-sharing, continuous) form of the space, or null when it has none.</summary>
    IRelaxation? Relaxation { get; }

    /// <summary>The single-path weight-sharing form of the space (one candidate per choice point), or null when it has none.</summary>
    IWeightSharing? WeightSharing { get; }

    /// <summary>Trained accuracies of the space's architectures read from <paramref name="dataDirectory"/>, or null when the
    /// space has no such table (then a <c>nas bench truth</c> run is its ground truth).</summary>
    IGroundTruth? GroundTruth(string dataDirectory);
}

/// <summary>
/// The continuous relaxation of a cell space (DARTS, GDAS, NASI): a supernet whose every edge mixes all candidate
/// operations with weights set from outside, grouped by cell type, and the rules that turn logits back into a genotype.
/// </summary>
public interface IRelaxation
{
    /// <summary>The groups of architecture logits, in the order <see cref="RelaxedSupernet.SetMixingWeights"/> takes them.</summary>
    IReadOnlyList<ArchitectureGroup> Groups { get; }

    /// <summary>Names of the derivation rules; the first is the one <see cref="Derive"/> uses by default.</summary>
    IReadOnlyList<string> Derivations { get; }

    /// <summary>The supernet at initialisation, libtorch seeded with <paramref name="seed"/> right before it is built.</summary>
    RelaxedSupernet BuildSupernet(IReadOnlyList<int> sampleShape, int classes, long seed, Device? device = null);

    /// <summary>The genotype that <paramref name="logits"/> (one [edges, operations] array per group) select under a rule.</summary>
    IGenotype Derive(IReadOnlyList<double[,]> logits, string? rule = null);
}

/// <summary>A dataset of a ground-truth table and the class count its networks are built with.</summary>
public sealed record GroundTruthTarget(string Name, int Classes);

/// <summary>One architecture's trained test accuracy (%) per target.</summary>
public sealed record GroundTruthEntry(IGenotype Arch, IReadOnlyDictionary<string, double> TestAccuracyPercent);

/// <summary>A published figure to compare with: a statistic ("spearman", "kendall", "test_accuracy_percent") per target.</summary>
public sealed record PublishedFigure(string Statistic, IReadOnlyDictionary<string, double> Targets);

/// <summary>
/// Trained accuracies of architectures of a space: a benchmark table (NAS-Bench-201) or a run of our own training
/// (<c>nas bench truth</c>). Correlation runs rank proxies against it; search comparisons look the found architectures up in it.
/// </summary>
public interface IGroundTruth
{
    /// <summary>Where the accuracies come from (a file, a stored run).</summary>
    string Source { get; }

    IReadOnlyList<GroundTruthTarget> Targets { get; }

    /// <summary>Every entry, in the table's order.</summary>
    IReadOnlyList<GroundTruthEntry> Entries { get; }

    /// <summary><paramref name="count"/> distinct entries drawn uniformly without replacement, in draw order.</summary>
    IReadOnlyList<GroundTruthEntry> Sample(int count, Random rng);

    /// <summary>The entry of an architecture, or null when the table does not hold it.</summary>
    GroundTruthEntry? Lookup(IGenotype arch);

    /// <summary>Published correlations of proxies with this table's accuracies, by proxy name (empty when none are known).</summary>
    IReadOnlyDictionary<string, PublishedFigure> PublishedCorrelations { get; }

    /// <summary>Published test accuracies (%) of architectures found by search methods on this table, by method.</summary>
    IReadOnlyDictionary<string, PublishedFigure> PublishedSearches { get; }
}
