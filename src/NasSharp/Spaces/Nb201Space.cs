using System.Numerics;
using NasSharp.Benchmarks;
using NasSharp.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Spaces;

/// <summary>
/// The NAS-Bench-201 cell space (Dong &amp; Yang, ICLR 2020, arXiv 2001.00326): 5 operations on each of 6 edges,
/// 5^6 = 15,625 cells, enumerated in <see cref="Nb201Genotype.Index"/> order. With <see cref="DistinctUnder"/> set, the
/// space lists one cell per equivalence class instead (the lowest-index member): 6,466 under NAS-Bench-201's own
/// definition, 5,545 under <see cref="Nb201Equivalence.Computational"/>. Its networks are the benchmark's
/// (<see cref="Nb201Network"/> with <see cref="Network"/>'s skeleton), its relaxation the benchmark's search network
/// (<see cref="Nb201Supernet"/>), its ground truth the benchmark's table (<see cref="Nb201Table"/>).
/// </summary>
public sealed class Nb201Space(Nb201Equivalence? distinctUnder = null, Nb201NetworkOptions? network = null, string? table = null)
    : SearchSpace<Nb201Genotype>
{
    public const string Name = "nb201";

    public static SpaceDefinition Definition { get; } = new(Name,
        "NAS-Bench-201 cells: 5 operations on 6 edges, 15,625 cells, with the benchmark's table of trained accuracies",
        [
            new("unique", "one cell per equivalence class: nas-bench-201 (the benchmark's isomorphism, 6,466 classes) or computational (5,545)", "none"),
            new("channels", "channels C of the first stage (stages have C, 2C, 4C)", "16"),
            new("cells", "cells per stage N", "5"),
            new("cell-bn", "batch norm of the cells' ReLU–Conv–BN: affine (the benchmark's trained networks) or search (no scale/shift, batch statistics: the search cells of the benchmark's code)", "affine"),
            new("table", "a CSV with the NAS-Bench-201 columns (default: <data>/" + Nb201Table.RelativePath + ")"),
        ],
        settings =>
        {
            var defaults = new Nb201NetworkOptions();
            bool search = settings.Choice("cell-bn", false, ("affine", false), ("search", true));
            return new Nb201Space(
                settings.Choice<Nb201Equivalence?>("unique", null, ("none", null), ("nas-bench-201", Nb201Equivalence.NasBench201), ("computational", Nb201Equivalence.Computational)),
                new Nb201NetworkOptions
                {
                    Channels = settings.Int("channels", defaults.Channels, min: 1),
                    CellsPerStage = settings.Int("cells", defaults.CellsPerStage, min: 0),
                    Affine = !search,
                    TrackRunningStats = !search,
                },
                settings.Text("table"));
        });

    private static readonly Lazy<Classes>[] ClassTables =
        [.. Enum.GetValues<Nb201Equivalence>().Select(e => new Lazy<Classes>(() => Classes.Build(e)))];

    /// <summary>When set, equivalent cells are listed, counted and sampled once.</summary>
    public Nb201Equivalence? DistinctUnder { get; } = distinctUnder is null || Enum.IsDefined(distinctUnder.Value) ? distinctUnder
        : throw new ArgumentOutOfRangeException(nameof(distinctUnder), distinctUnder, "Unknown equivalence.");

    /// <summary>The skeleton of the networks built from this space (the benchmark's by default).</summary>
    public Nb201NetworkOptions Network { get; } = Validated(network ?? new Nb201NetworkOptions());

    /// <summary>The accuracy table file; null for the data directory's.</summary>
    public string? Table { get; } = table;

    public override string SpaceName => Name;

    public override IReadOnlyDictionary<string, string> Settings
    {
        get
        {
            var settings = new SortedDictionary<string, string>(StringComparer.Ordinal)
            {
                ["unique"] = DistinctUnder switch { null => "none", Nb201Equivalence.NasBench201 => "nas-bench-201", _ => "computational" },
                ["channels"] = Network.Channels.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["cells"] = Network.CellsPerStage.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["cell-bn"] = Network.Affine ? "affine" : "search",
            };
            if (Table is not null) settings["table"] = Table;
            return settings;
        }
    }

    public override BigInteger Count => DistinctUnder is { } e ? ClassCount(e) : Nb201Genotype.CellCount;

    /// <summary>Number of equivalence classes of the 15,625 cells.</summary>
    public static int ClassCount(Nb201Equivalence equivalence) => ClassTable(equivalence).Representatives.Count;

    /// <summary>The lowest-index cell equivalent to <paramref name="genotype"/>.</summary>
    public static Nb201Genotype Representative(Nb201Genotype genotype, Nb201Equivalence equivalence)
    {
        ArgumentNullException.ThrowIfNull(genotype);
        return Nb201Genotype.FromIndex(ClassTable(equivalence).RepresentativeOf[genotype.Index]);
    }

    /// <summary>One cell per class, the lowest-index member, in index order.</summary>
    public static IReadOnlyList<Nb201Genotype> Representatives(Nb201Equivalence equivalence) => ClassTable(equivalence).Representatives;

    public override string Describe()
    {
        var classes = $"{ClassCount(Nb201Equivalence.NasBench201):N0} distinct under NAS-Bench-201's isomorphism, " +
                      $"{ClassCount(Nb201Equivalence.Computational):N0} computationally distinct";
        var listed = DistinctUnder is { } e ? $"; listing one cell per {(e == Nb201Equivalence.NasBench201 ? "NAS-Bench-201" : "computational")} class: {Count:N0}" : "";
        return $"nb201: NAS-Bench-201 cells, 4 nodes, 6 edges (node j takes inputs from nodes 0..j-1), " +
               $"operations {{{Nb201Operations.KnownTokens}}}; {Nb201Genotype.CellCount:N0} cells ({classes}){listed}";
    }

    /// <summary>Every cell belongs to the space, also when it lists one cell per class.</summary>
    public override Nb201Genotype Parse(string text) => Nb201Genotype.Parse(text);

    /// <summary>A uniform cell, or with <see cref="DistinctUnder"/> a uniform class (its representative).</summary>
    public override Nb201Genotype Sample(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (DistinctUnder is { } e)
        {
            var reps = ClassTable(e).Representatives;
            return reps[rng.Next(reps.Count)];
        }
        return Nb201Genotype.FromIndex(rng.Next(Nb201Genotype.CellCount));
    }

    /// <summary>
    /// Changes the operation of exactly one edge, uniformly over the 24 one-edge neighbours; with
    /// <see cref="DistinctUnder"/>, uniformly over the neighbours that fall in another class.
    /// </summary>
    public override Nb201Genotype Mutate(Nb201Genotype genotype, Random rng)
    {
        ArgumentNullException.ThrowIfNull(genotype);
        ArgumentNullException.ThrowIfNull(rng);
        var neighbours = new List<Nb201Genotype>(Nb201Genotype.EdgeCount * 4);
        for (int edge = 0; edge < Nb201Genotype.EdgeCount; edge++)
            foreach (var op in Nb201Operations.All)
                if (op != genotype.Operations[edge]) neighbours.Add(genotype.With(edge, op));
        if (DistinctUnder is { } e)
        {
            var classOf = ClassTable(e).RepresentativeOf;
            int own = classOf[genotype.Index];
            neighbours.RemoveAll(n => classOf[n.Index] == own);
            if (neighbours.Count == 0)
                throw new InvalidOperationException($"No one-edge change of '{genotype}' leaves its equivalence class.");
        }
        return neighbours[rng.Next(neighbours.Count)];
    }

    /// <summary>All 15,625 cells in index order, or one per class (the representatives) with <see cref="DistinctUnder"/>.</summary>
    public override IEnumerable<Nb201Genotype> Enumerate() =>
        DistinctUnder is { } e ? ClassTable(e).Representatives : Enumerable.Range(0, Nb201Genotype.CellCount).Select(Nb201Genotype.FromIndex);

    public override IReadOnlyList<Parameterization> Parameterizations => [Parameterization.Standard];

    protected override string? CheckSampleShape(IReadOnlyList<int> sampleShape) =>
        Nb201Network.CheckInputShape([.. sampleShape.Select(d => (long)d)], sampleShape.Count > 0 ? sampleShape[0] : 0);

    protected override nn.Module<Tensor, Tensor> Build(Nb201Genotype genotype, IReadOnlyList<int> sampleShape, int classes, NetworkOptions options, Device? device) =>
        new Nb201Network(genotype, sampleShape[0], classes, Network, device, options.DType);

    public override IRelaxation Relaxation => new Nb201Relaxation(Network);

    public override IWeightSharing WeightSharing => new Nb201WeightSharing(Network);

    /// <summary>The table at <see cref="Table"/>, else the data directory's.</summary>
    public override IGroundTruth GroundTruth(string dataDirectory) =>
        Table is { } path ? Nb201Table.Load(path) : Nb201Table.LoadDefault(dataDirectory);

    private static Nb201NetworkOptions Validated(Nb201NetworkOptions options)
    {
        options.Validate();
        return options;
    }

    private static Classes ClassTable(Nb201Equivalence equivalence) =>
        Enum.IsDefined(equivalence) ? ClassTables[(int)equivalence].Value
            : throw new ArgumentOutOfRangeException(nameof(equivalence), equivalence, "Unknown equivalence.");

    private sealed record Classes(int[] RepresentativeOf, IReadOnlyList<Nb201Genotype> Representatives)
    {
        public static Classes Build(Nb201Equivalence equivalence)
        {
            var first = new Dictionary<string, int>(StringComparer.Ordinal);
            var representativeOf = new int[Nb201Genotype.CellCount];
            var representatives = new List<Nb201Genotype>();
            for (int i = 0; i < Nb201Genotype.CellCount; i++)
            {
                var g = Nb201Genotype.FromIndex(i);
                var key = g.EquivalenceKey(equivalence);
                if (!first.TryGetValue(key, out var rep))
                {
                    rep = i;
                    first.Add(key, i);
                    representatives.Add(g);
                }
                representativeOf[i] = rep;
            }
            return new Classes(representativeOf, representatives.AsReadOnly());
        }
    }
}

/// <summary>
/// NAS-Bench-201's relaxation: one [6, 5] group of logits shared by every cell, the search network of the space's skeleton
/// with non-affine, batch-statistics cell batch norms, and two derivation rules: <c>without-none</c> (DARTS' rule, the
/// default) and <c>argmax</c> (every operation, <c>none</c> included).
/// </summary>
public sealed class Nb201Relaxation(Nb201NetworkOptions network) : IRelaxation
{
    public const string WithoutNone = "without-none";
    public const string Argmax = "argmax";

    public IReadOnlyList<ArchitectureGroup> Groups => [Nb201Supernet.CellGroup];

    public IReadOnlyList<string> Derivations => [WithoutNone, Argmax];

    public RelaxedSupernet BuildSupernet(IReadOnlyList<int> sampleShape, int classes, long seed, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (Nb201Network.CheckInputShape([.. sampleShape.Select(d => (long)d)], sampleShape.Count > 0 ? sampleShape[0] : 0) is { } problem)
            throw new ArgumentException($"Cannot build the nb201 supernet for inputs [{string.Join(",", sampleShape)}]: {problem}.");
        torch.random.manual_seed(seed);
        return new Nb201Supernet(sampleShape[0], classes, network with { Affine = false, TrackRunningStats = false }, device);
    }

    public IGenotype Derive(IReadOnlyList<double[,]> logits, string? rule = null)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (logits.Count != 1) throw new ArgumentException($"NB201 logits are one [{Nb201Genotype.EdgeCount}, {Nb201Operations.All.Count}] array, got {logits.Count}.", nameof(logits));
        return Nb201Genotype.Derive(logits[0], excludeNone: (rule ?? WithoutNone) switch
        {
            WithoutNone => true,
            Argmax => false,
            var r => throw new ArgumentException($"Unknown nb201 derivation '{r}'; known: {WithoutNone}, {Argmax}.", nameof(rule)),
        });
    }
}
