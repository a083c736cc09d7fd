using System.Numerics;
using NasSharp.Spaces;
using Xunit;

namespace NasSharp.Tests.Spaces;

public class DartsSpaceTests
{
    private static readonly DartsGenotype DartsV2 = DartsGenotype.Parse(DartsGenotype.Example);

    [Fact]
    public void CountIsTheProductOfTheChoicesFoundByBruteForce()
    {
        // For each node, try every (op, input) × (op, input) the constructor could be given, keep those it accepts, and
        // count the distinct canonical strings: C(k+2, 2) input pairs × 7² operations.
        BigInteger cell = 1;
        for (int k = 0; k < DartsGenotype.NodeCount; k++)
        {
            var distinct = new HashSet<string>();
            foreach (var a in DartsPrimitives.All)
                foreach (var b in DartsPrimitives.All)
                    for (int i = 0; i < 6; i++)
                        for (int j = 0; j < 6; j++)
                        {
                            var genes = DartsV2.Normal.SetItem(2 * k, new DartsEdge(a, i)).SetItem(2 * k + 1, new DartsEdge(b, j));
                            try { distinct.Add(new DartsGenotype(genes, DartsV2.Reduce).Canonical); }
                            catch (ArgumentException) { }
                        }
            Assert.Equal((k + 2) * (k + 1) / 2 * 49, distinct.Count);
            cell *= distinct.Count;
        }
        Assert.Equal(1_037_664_180, cell);
        Assert.Equal(cell, DartsSpace.CellCount);
        Assert.Equal(BigInteger.Parse("1076746950455072400"), new DartsSpace().Count);
        Assert.Contains("1,076,746,950,455,072,400 genotypes", new DartsSpace().Describe());
    }

    [Fact]
    public void SamplingIsDeterministicBySeed()
    {
        var space = new DartsSpace();
        List<string> Draw(int seed) { var rng = new Random(seed); return [.. Enumerable.Range(0, 40).Select(_ => space.Sample(rng).Canonical)]; }
        Assert.Equal(Draw(5), Draw(5));
        Assert.NotEqual(Draw(5), Draw(6));
        Assert.Equal(40, Draw(7).Distinct().Count());
    }

    [Fact]
    public void SamplesAreUniformOverInputPairsAndOperations()
    {
        // 20,000 draws, two cells each: node 3 picks one of 10 input pairs (40,000 draws, σ of a frequency ≈ 0.0015) and
        // each gene one of 7 operations (320,000 genes, σ ≈ 0.0006); the tolerances are about 6σ.
        var space = new DartsSpace();
        var rng = new Random(1);
        var pairs = new Dictionary<(int, int), int>();
        var ops = new int[8];
        int cells = 0, genes = 0;
        for (int t = 0; t < 20_000; t++)
        {
            var g = space.Sample(rng);
            foreach (var cell in new[] { g.Normal, g.Reduce })
            {
                var key = (cell[6].Input, cell[7].Input);
                pairs[key] = pairs.GetValueOrDefault(key) + 1;
                cells++;
                foreach (var gene in cell) { ops[(int)gene.Operation]++; genes++; }
            }
        }
        Assert.Equal(10, pairs.Count);
        Assert.All(pairs.Values, n => Assert.InRange(n / (double)cells, 0.1 - 0.01, 0.1 + 0.01));
        Assert.Equal(0, ops[0]);
        Assert.All(ops[1..], n => Assert.InRange(n / (double)genes, 1 / 7.0 - 0.004, 1 / 7.0 + 0.004));
    }

    [Fact]
    public void MutationChangesOneGeneAndReachesAll120Neighbours()
    {
        var space = new DartsSpace();
        var rng = new Random(2);
        var seen = new HashSet<DartsGenotype>();
        for (int t = 0; t < 5_000; t++)
        {
            var m = space.Mutate(DartsV2, rng);
            int changed = m.Normal.Zip(DartsV2.Normal).Concat(m.Reduce.Zip(DartsV2.Reduce)).Count(p => p.First != p.Second);
            // One gene changed; re-sorting a node by input can move its other gene too, so at most the node's two differ.
            Assert.InRange(changed, 1, 2);
            Assert.NotEqual(DartsV2, m);
            seen.Add(m);
        }
        // Per node k: two genes × (6 other operations + k unused inputs); 2 · Σ_k (6 + k) = 60 per cell.
        Assert.Equal(120, seen.Count);
    }

    [Fact]
    public void TheSpaceIsTooLargeToEnumerateAndParsesThroughItsInterface()
    {
        ISearchSpace space = new DartsSpace();
        Assert.Equal("darts", space.SpaceName);
        Assert.Contains("sample it instead", Assert.Throws<InvalidOperationException>(() => space.Enumerate()).Message);
        Assert.Equal(DartsV2, space.Parse(DartsGenotype.Example));
        Assert.Throws<ArgumentException>(() => space.Mutate(Nb201Genotype.FromIndex(0), new Random(0)));
    }
}
