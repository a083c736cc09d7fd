using System.Numerics;
using NasSharp.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Spaces;

/// <summary>
/// The DARTS cell space (Liu, Simonyan &amp; Yang, ICLR 2019, arXiv 1806.09055): a normal and a reduction cell of four nodes,
/// each node two distinct inputs among its predecessors and one of the seven operations other than <c>none</c> on each,
/// which is exactly the set of cells DARTS' derivation can give. Too large to enumerate. Its networks are DARTS' CIFAR
/// networks of the <see cref="Network"/> skeleton, its relaxation DARTS' search network with DARTS' derivation.
/// </summary>
public sealed class DartsSpace(DartsNetworkOptions? network = null) : SearchSpace<DartsGenotype>
{
    public const string Name = "darts";

    public static SpaceDefinition Definition { get; } = new(Name,
        "DARTS cells: a normal and a reduction cell of 4 nodes, 7 operations, about 1.1·10¹⁸ genotypes; no table",
        [
            new("channels", "channels C of the first cells' nodes (DARTS: 16 to search, 36 to evaluate)", "16"),
            new("cells", "number of cells, those at 1/3 and 2/3 of the depth reductions (DARTS: 8 to search, 20 to evaluate)", "8"),
        ],
        settings =>
        {
            var defaults = new DartsNetworkOptions();
            return new DartsSpace(new DartsNetworkOptions
            {
                Channels = settings.Int("channels", defaults.Channels, min: 1),
                Layers = settings.Int("cells", defaults.Layers, min: 1),
            });
        });

    /// <summary>The skeleton of the networks and the supernet built from this space.</summary>
    public DartsNetworkOptions Network { get; } = Validated(network ?? new DartsNetworkOptions());

    public override string SpaceName => Name;

    public override IReadOnlyDictionary<string, string> Settings => new SortedDictionary<string, string>(StringComparer.Ordinal)
    {
        ["channels"] = Network.Channels.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["cells"] = Network.Layers.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// Genotypes of one cell: node k chooses an unordered pair of distinct inputs among k + 2 states (C(k+2, 2) ways:
    /// 1, 3, 6, 10) and an operation for each of the two (7² ways), so 180 · 7⁸ = 1,037,664,180.
    /// </summary>
    public static BigInteger CellCount { get; } = 180 * BigInteger.Pow(7, 8);

    /// <summary>
    /// Distinct genotypes (canonical strings), <see cref="CellCount"/>² = 1,076,746,950,455,072,400 ≈ 1.1·10¹⁸: a
    /// (normal, reduce) pair of cells. Cells that compute the same function up to relabelling (e.g. two nodes with the
    /// same genes listed in another order, whose outputs are concatenated in another channel order) count separately.
    /// </summary>
    public override BigInteger Count => CellCount * CellCount;

    public override string Describe() =>
        $"darts: DARTS cells (normal and reduction), 4 nodes, each the sum of two operations on two distinct earlier states " +
        $"(node k: inputs 0..k+1), operations {{{DartsPrimitives.CandidateTokens}}}; " +
        $"{CellCount:N0} cells of each type, {Count:N0} genotypes";

    public override DartsGenotype Parse(string text) => DartsGenotype.Parse(text);

    /// <summary>A uniform genotype: per node, two distinct inputs uniformly among its predecessors, each with a uniform operation.</summary>
    public override DartsGenotype Sample(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        return new DartsGenotype(SampleCell(rng), SampleCell(rng));
    }

    private static DartsEdge[] SampleCell(Random rng)
    {
        var genes = new DartsEdge[DartsGenotype.GeneCount];
        var ops = DartsPrimitives.Candidates;
        for (int k = 0; k < DartsGenotype.NodeCount; k++)
        {
            int a = rng.Next(k + 2);
            int b = rng.Next(k + 1);
            if (b >= a) b++;
            genes[2 * k] = new DartsEdge(ops[rng.Next(ops.Count)], a);
            genes[2 * k + 1] = new DartsEdge(ops[rng.Next(ops.Count)], b);
        }
        return genes;
    }

    /// <summary>
    /// Changes one gene, uniformly over all one-gene neighbours: its operation (6 others) or its input (any predecessor
    /// of the node that neither gene of the node uses: k for node k), in either cell; 120 neighbours.
    /// </summary>
    public override DartsGenotype Mutate(DartsGenotype genotype, Random rng)
    {
        ArgumentNullException.ThrowIfNull(genotype);
        ArgumentNullException.ThrowIfNull(rng);
        var neighbours = new List<DartsGenotype>(120);
        foreach (bool reduction in new[] { false, true })
        {
            var cell = genotype.Cell(reduction);
            for (int g = 0; g < DartsGenotype.GeneCount; g++)
            {
                var gene = cell[g];
                int k = g / 2;
                int other = cell[g ^ 1].Input;
                foreach (var op in DartsPrimitives.Candidates)
                    if (op != gene.Operation) neighbours.Add(With(genotype, reduction, cell.SetItem(g, gene with { Operation = op })));
                for (int input = 0; input < k + 2; input++)
                    if (input != gene.Input && input != other) neighbours.Add(With(genotype, reduction, cell.SetItem(g, gene with { Input = input })));
            }
        }
        return neighbours[rng.Next(neighbours.Count)];
    }

    private static DartsGenotype With(DartsGenotype g, bool reduction, IEnumerable<DartsEdge> cell) =>
        reduction ? new DartsGenotype(g.Normal, cell) : new DartsGenotype(cell, g.Reduce);

    /// <summary>Always throws: the space has about 10¹⁸ genotypes.</summary>
    public override IEnumerable<DartsGenotype> Enumerate() =>
        throw new InvalidOperationException($"The darts space has {Count:N0} genotypes, too many to list: sample it instead.");

    public override IReadOnlyList<Parameterization> Parameterizations => [Parameterization.Standard];

    protected override string? CheckSampleShape(IReadOnlyList<int> sampleShape) =>
        DartsNetwork.CheckInputShape([.. sampleShape.Select(d => (long)d)], sampleShape.Count > 0 ? sampleShape[0] : 0, Network);

    protected override nn.Module<Tensor, Tensor> Build(DartsGenotype genotype, IReadOnlyList<int> sampleShape, int classes, NetworkOptions options, Device? device) =>
        new DartsNetwork(genotype, sampleShape[0], classes, Network, device, options.DType);

    public override IRelaxation Relaxation => new DartsRelaxation(Network);

    private static DartsNetworkOptions Validated(DartsNetworkOptions options)
    {
        options.Validate();
        return options;
    }
}

/// <summary>
/// DARTS' relaxation: "normal" and "reduce" [14, 8] groups of logits, DARTS' search network of the space's skeleton, and
/// DARTS' derivation rule (<see cref="DartsGenotype.Derive"/>).
/// </summary>
public sealed class DartsRelaxation(DartsNetworkOptions network) : IRelaxation
{
    public const string Rule = "darts";

    public IReadOnlyList<ArchitectureGroup> Groups => DartsSupernet.CellGroups;

    public IReadOnlyList<string> Derivations => [Rule];

    public RelaxedSupernet BuildSupernet(IReadOnlyList<int> sampleShape, int classes, long seed, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (DartsNetwork.CheckInputShape([.. sampleShape.Select(d => (long)d)], sampleShape.Count > 0 ? sampleShape[0] : 0, network) is { } problem)
            throw new ArgumentException($"Cannot build the darts supernet for inputs [{string.Join(",", sampleShape)}]: {problem}.");
        torch.random.manual_seed(seed);
        return new DartsSupernet(sampleShape[0], classes, network, device);
    }

    public IGenotype Derive(IReadOnlyList<double[,]> logits, string? rule = null)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if ((rule ?? Rule) != Rule) throw new ArgumentException($"Unknown darts derivation '{rule}'; known: {Rule}.", nameof(rule));
        if (logits.Count != 2)
            throw new ArgumentException($"DARTS logits are two [{DartsGenotype.MixedEdgeCount}, {DartsPrimitives.All.Count}] arrays (normal, reduce), got {logits.Count}.", nameof(logits));
        return DartsGenotype.Derive(logits[0], logits[1]);
    }
}
