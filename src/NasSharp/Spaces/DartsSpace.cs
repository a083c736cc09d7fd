using System.Numerics;

namespace NasSharp.Spaces;

/// <summary>
/// The DARTS cell space (Liu, Simonyan &amp; Yang, ICLR 2019): a normal and a reduction cell of four nodes, each node two
/// distinct inputs among its predecessors and one of the seven operations other than <c>none</c> on each, which is
/// exactly the set of cells DARTS' derivation can give. Too large to enumerate.
/// </summary>
public sealed class DartsSpace : ISearchSpace
{
    public const string Name = "darts";

    /// <summary>
    /// Genotypes of one cell: node k chooses an unordered pair of distinct inputs among k + 2 states (C(k+2, 2) ways:
    /// 1, 3, 6, 10) and an operation for each of the two (7² ways), so 180 · 7⁸ = 1,037,664,180.
    /// </summary>
    public static BigInteger CellCount { get; } = 180 * BigInteger.Pow(7, 8);

    public string SpaceName => Name;

    /// <summary>
    /// Distinct genotypes (canonical strings), <see cref="CellCount"/>² = 1,076,746,950,455,072,400 ≈ 1.1·10¹⁸: a
    /// (normal, reduce) pair of cells. Cells that compute the same function up to relabelling (e.g. two nodes with the
    /// same genes listed in another order, whose outputs are concatenated in another channel order) count separately.
    /// </summary>
    public BigInteger Count => CellCount * CellCount;

    public string Describe() =>
        $"darts: DARTS cells (normal and reduction), 4 nodes, each the sum of two operations on two distinct earlier states " +
        $"(node k: inputs 0..k+1), operations {{{DartsPrimitives.CandidateTokens}}}; " +
        $"{CellCount:N0} cells of each type, {Count:N0} genotypes";

    IGenotype ISearchSpace.Parse(string text) => Parse(text);

    public DartsGenotype Parse(string text) => DartsGenotype.Parse(text);

    IGenotype ISearchSpace.Sample(Random rng) => Sample(rng);

    /// <summary>A uniform genotype: per node, two distinct inputs uniformly among its predecessors, each with a uniform operation.</summary>
    public DartsGenotype Sample(Random rng)
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

    IGenotype ISearchSpace.Mutate(IGenotype genotype, Random rng) => Mutate(AsDarts(genotype), rng);

    /// <summary>
    /// Changes one gene, uniformly over all one-gene neighbours: its operation (6 others) or its input (any predecessor
    /// of the node that neither gene of the node uses: k for node k), in either cell; 120 neighbours.
    /// </summary>
    public DartsGenotype Mutate(DartsGenotype genotype, Random rng)
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

    IEnumerable<IGenotype> ISearchSpace.Enumerate() => Enumerate();

    /// <summary>Always throws: the space has about 10¹⁸ genotypes.</summary>
    public IEnumerable<DartsGenotype> Enumerate() =>
        throw new InvalidOperationException($"The darts space has {Count:N0} genotypes, too many to list: sample it instead.");

    private static DartsGenotype AsDarts(IGenotype g) =>
        g as DartsGenotype ?? throw new ArgumentException($"'{g.Canonical}' is a {g.Space} genotype, not a darts one.");
}
