using NasSharp.Spaces;
using Xunit;

namespace NasSharp.Tests.Spaces;

public class Nb201SpaceTests
{
    [Fact]
    public void EnumeratesAll15625CellsOnceInIndexOrderAndEachStringRoundTrips()
    {
        var space = new Nb201Space();
        var all = space.Enumerate().ToList();
        Assert.Equal(15_625, all.Count); // 5 operations on 6 edges: 5^6
        Assert.Equal(space.Count, all.Count);
        Assert.Equal(all.Count, all.Select(g => g.Canonical).Distinct(StringComparer.Ordinal).Count());
        for (int i = 0; i < all.Count; i++)
        {
            Assert.Equal(i, all[i].Index);
            var text = all[i].Canonical;
            var back = space.Parse(text);
            Assert.Equal(all[i], back);
            Assert.Equal(text, back.Canonical);
        }
    }

    [Fact]
    public void NasBench201DeduplicationGivesTheBenchmarks6466UniqueCells()
    {
        // NAS-Bench-201 / NATS-Bench report 6,466 unique topologies among the 15,625 cells, counted with
        // Structure.to_unique_str(consider_zero=True) (AutoDL-Projects exps/NAS-Bench-201/test-correlation.py).
        Assert.Equal(6_466, Nb201Space.ClassCount(Nb201Equivalence.NasBench201));
        var space = new Nb201Space(Nb201Equivalence.NasBench201);
        Assert.Equal(6_466, (int)space.Count);
        var listed = space.Enumerate().ToList();
        Assert.Equal(6_466, listed.Count);
        Assert.Equal(6_466, listed.Select(g => g.EquivalenceKey(Nb201Equivalence.NasBench201)).Distinct().Count());
        // Each listed cell is the lowest-index member of its class.
        Assert.All(listed, g => Assert.Equal(g, Nb201Space.Representative(g, Nb201Equivalence.NasBench201)));
    }

    [Fact]
    public void ComputationalClassesAreExactlyTheCellsThatComputeTheSameFunctionOfUninterpretedOps()
    {
        // Independent check of the 5,545 computational classes: evaluate every cell on scalars with each operation
        // replaced by a fixed generic nonlinear function (none → 0, skip → identity, pooling maps 0 to 0 as average
        // pooling does, the convolutions map 0 to a non-zero value as BN's shift does). Cells in one class must
        // give the same values (up to the order of summation); cells in different classes must not.
        var space = new Nb201Space();
        var classes = space.Enumerate()
            .GroupBy(g => g.EquivalenceKey(Nb201Equivalence.Computational))
            .Select(grp => grp.Select(g => (Evaluate(g, 0.37), Evaluate(g, -1.21))).ToList())
            .ToList();
        Assert.Equal(5_545, classes.Count);
        Assert.Equal(5_545, Nb201Space.ClassCount(Nb201Equivalence.Computational));
        foreach (var members in classes)
            Assert.All(members, v => { Assert.Equal(members[0].Item1, v.Item1, 1e-12); Assert.Equal(members[0].Item2, v.Item2, 1e-12); });
        // Rounded to 1e-9 (far above summation-order error, far below the gaps of generic values) they stay distinct.
        var distinct = classes.Select(m => (Math.Round(m[0].Item1, 9), Math.Round(m[0].Item2, 9))).Distinct().Count();
        Assert.Equal(5_545, distinct);
    }

    [Fact]
    public void NasBench201ClassesThatMixComputationsAllComeFromConvolutionsOfZeroNodes()
    {
        // NB201's key turns a convolution of an all-zero node into '#' (zero); ReLU–Conv–BN of zeros is BN's shift,
        // so such cells compute differently. Replacing those convolutions by none changes neither the NB201 key nor,
        // for cells without them, the computational key; 101 NB201 classes contain cells of several computations.
        var mixed = new Nb201Space().Enumerate()
            .GroupBy(g => g.EquivalenceKey(Nb201Equivalence.NasBench201))
            .Where(c => c.Select(g => g.EquivalenceKey(Nb201Equivalence.Computational)).Distinct().Count() > 1)
            .ToList();
        Assert.Equal(101, mixed.Count);
        foreach (var cls in mixed)
        {
            var pruned = cls.Select(PruneConvolutionsOfZeroNodes).Select(g => g.EquivalenceKey(Nb201Equivalence.Computational)).Distinct();
            Assert.Single(pruned);
        }
    }

    private static Nb201Genotype PruneConvolutionsOfZeroNodes(Nb201Genotype g)
    {
        var zero = new bool[4];
        var ops = g.Operations.ToArray();
        for (int to = 1; to < 4; to++)
        {
            zero[to] = true;
            for (int from = 0; from < to; from++)
            {
                int e = Nb201Genotype.EdgeIndex(to, from);
                if (zero[from] && ops[e].IsConvolution()) ops[e] = Nb201Operation.None;
                if (ops[e] != Nb201Operation.None && !zero[from]) zero[to] = false;
            }
        }
        return new Nb201Genotype(ops);
    }

    [Fact]
    public void SamplingIsSeededAndDeduplicatedSamplingDrawsRepresentatives()
    {
        var space = new Nb201Space();
        List<string> Draw(Nb201Space s, int seed) { var rng = new Random(seed); return [.. Enumerable.Range(0, 50).Select(_ => s.Sample(rng).Canonical)]; }
        Assert.Equal(Draw(space, 7), Draw(space, 7));
        Assert.NotEqual(Draw(space, 7), Draw(space, 8));
        Assert.True(Draw(space, 7).Distinct().Count() > 45, "50 draws from 15,625 cells should rarely repeat");

        var unique = new Nb201Space(Nb201Equivalence.Computational);
        Assert.All(Draw(unique, 3), t =>
        {
            var g = Nb201Genotype.Parse(t);
            Assert.Equal(g, Nb201Space.Representative(g, Nb201Equivalence.Computational));
        });
    }

    [Fact]
    public void MutationChangesExactlyOneEdgeAndWithDeduplicationLeavesTheClass()
    {
        var rng = new Random(5);
        var space = new Nb201Space();
        var unique = new Nb201Space(Nb201Equivalence.NasBench201);
        for (int i = 0; i < 300; i++)
        {
            var g = space.Sample(rng);
            var m = space.Mutate(g, rng);
            Assert.Equal(1, Enumerable.Range(0, 6).Count(e => g.Operations[e] != m.Operations[e]));

            var u = unique.Mutate(g, rng);
            Assert.Equal(1, Enumerable.Range(0, 6).Count(e => g.Operations[e] != u.Operations[e]));
            Assert.NotEqual(g.EquivalenceKey(Nb201Equivalence.NasBench201), u.EquivalenceKey(Nb201Equivalence.NasBench201));
        }
    }

    [Fact]
    public void DescribeStatesTheCounts()
    {
        var text = new Nb201Space().Describe();
        Assert.Contains("15,625 cells", text);
        Assert.Contains("6,466", text);
        Assert.Contains("5,545", text);
    }

    private static double Evaluate(Nb201Genotype g, double x)
    {
        var nodes = new double[4];
        nodes[0] = x;
        for (int to = 1; to < 4; to++)
            for (int from = 0; from < to; from++)
                nodes[to] += g[to, from] switch
                {
                    Nb201Operation.None => 0,
                    Nb201Operation.SkipConnect => nodes[from],
                    Nb201Operation.NorConv1x1 => Math.Sin(1.7 * nodes[from] + 0.3) + 0.11,
                    Nb201Operation.NorConv3x3 => 1.3 * Math.Tanh(0.9 * nodes[from] - 0.4) + 0.05,
                    Nb201Operation.AvgPool3x3 => Math.Tanh(1.1 * nodes[from]) + 0.2 * nodes[from] * nodes[from],
                    _ => throw new ArgumentOutOfRangeException(nameof(g)),
                };
        return nodes[3];
    }
}
