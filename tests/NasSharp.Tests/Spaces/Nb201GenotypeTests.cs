using NasSharp.Spaces;
using Xunit;

namespace NasSharp.Tests.Spaces;

public class Nb201GenotypeTests
{
    private const string Best = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|";

    [Fact]
    public void ParsesTheCanonicalFormEdgeByEdge()
    {
        var g = Nb201Genotype.Parse(Best);
        Assert.Equal(Nb201Operation.NorConv3x3, g[1, 0]);
        Assert.Equal(Nb201Operation.NorConv3x3, g[2, 0]);
        Assert.Equal(Nb201Operation.NorConv3x3, g[2, 1]);
        Assert.Equal(Nb201Operation.SkipConnect, g[3, 0]);
        Assert.Equal(Nb201Operation.NorConv3x3, g[3, 1]);
        Assert.Equal(Nb201Operation.NorConv1x1, g[3, 2]);
        Assert.Equal(Best, g.Canonical);
    }

    [Fact]
    public void IndexIsTheBase5NumberOfTheOperationsInStringOrder()
    {
        Assert.Equal("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", Nb201Genotype.FromIndex(0).Canonical);
        Assert.Equal("|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|",
            Nb201Genotype.FromIndex(15_624).Canonical);
        // skip_connect (digit 1) on edge 1←0, the most significant digit: 1·5^5.
        Assert.Equal(3125, Nb201Genotype.Parse("|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|").Index);
        // nor_conv_1x1 (digit 2) on edge 3←2, the least significant digit.
        Assert.Equal(2, Nb201Genotype.Parse("|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_1x1~2|").Index);
        // Best: digits 3,3,3,1,3,2 → 3·3125 + 3·625 + 3·125 + 1·25 + 3·5 + 2.
        Assert.Equal(3 * 3125 + 3 * 625 + 3 * 125 + 25 + 15 + 2, Nb201Genotype.Parse(Best).Index);
        Assert.Throws<ArgumentOutOfRangeException>(() => Nb201Genotype.FromIndex(15_625));
        Assert.Throws<ArgumentOutOfRangeException>(() => Nb201Genotype.FromIndex(-1));
    }

    [Fact]
    public void EdgesOfANodeMayBeListedInAnyOrder()
    {
        var g = Nb201Genotype.Parse(" |nor_conv_3x3~0|+|nor_conv_3x3~1|nor_conv_3x3~0|+|nor_conv_1x1~2|skip_connect~0|nor_conv_3x3~1| ");
        Assert.Equal(Best, g.Canonical);
    }

    public static TheoryData<string, string> Malformed => new()
    {
        { "", "it is empty" },
        { "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|", "it has 2 node groups separated by '+', NB201 cells have 3" },
        { "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|+|none~0|", "it has 4 node groups" },
        { "|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|", "it has 5 edges, NB201 cells need 6 (missing 2←1)" },
        { "|none~0|+|none~0|none~1|+|none~0|none~1|", "it has 5 edges, NB201 cells need 6 (missing 3←2)" },
        { "|conv3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown operation 'conv3x3'" },
        { "|none~0|+|none~0|none~1|+|none~0|none~1|none~3|", "feeds node 3 from node 3, but node 3 takes inputs from nodes 0..2 only" },
        { "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "feeds node 1 from node 1" },
        { "|none~x|+|none~0|none~1|+|none~0|none~1|none~2|", "has input 'x', which is not a node number" },
        { "|none~-1|+|none~0|none~1|+|none~0|none~1|none~2|", "has input '-1', which is not a node number" },
        { "|none~01|+|none~0|none~1|+|none~0|none~1|none~2|", "has input '01', which is not a node number" },
        { "|none|+|none~0|none~1|+|none~0|none~1|none~2|", "edge 'none' into node 1 is not of the form op~input" },
        { "none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "node 1's group 'none~0|' must start and end with '|'" },
        { "|none~0|+|none~0|none~1+|none~0|none~1|none~2|", "must start and end with '|'" },
        { "|none~0|+|none~0||none~1|+|none~0|none~1|none~2|", "has an empty edge between '|' bars" },
        { "|none~0|+|none~0|none~0|+|none~0|none~1|none~2|", "node 2 has two edges from node 0" },
        { "|None~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown operation 'None'" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedStringsAreRejectedNamingTheProblemAndShowingTheExpectedForm(string text, string problem)
    {
        var e = Assert.Throws<GenotypeFormatException>(() => Nb201Genotype.Parse(text));
        Assert.Contains(problem, e.Message);
        Assert.Contains("Expected |op~0|+|op~0|op~1|+|op~0|op~1|op~2|", e.Message);
        Assert.Contains("none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3", e.Message);
    }

    [Fact]
    public void ValueEqualityFollowsTheOperations()
    {
        var a = Nb201Genotype.Parse(Best);
        var b = Nb201Genotype.FromIndex(a.Index);
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, a.With(5, Nb201Operation.NorConv3x3));
        Assert.Equal(Nb201Operation.NorConv3x3, a.With(5, Nb201Operation.NorConv3x3)[3, 2]);
    }

    [Fact]
    public void EquivalenceKeysMergeDeadEdgesAndZeroPathsButNotDifferentComputations()
    {
        // Node 1 feeds nothing that reaches node 3 (edges 2←1, 3←1 are none): the op on 1←0 is irrelevant.
        var a = Nb201Genotype.Parse("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|nor_conv_3x3~2|");
        var b = Nb201Genotype.Parse("|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|nor_conv_3x3~2|");
        // Changing the op of a live edge (3←2) changes the class.
        var c = Nb201Genotype.Parse("|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|nor_conv_1x1~2|");
        foreach (var kind in Enum.GetValues<Nb201Equivalence>())
        {
            Assert.Equal(a.EquivalenceKey(kind), b.EquivalenceKey(kind));
            Assert.NotEqual(a.EquivalenceKey(kind), c.EquivalenceKey(kind));
        }
        // Worked by hand from to_unique_str(consider_zero=True): node 2 = sorted('0', '#') = '#+0'; node 3 joins
        // '(0)@nor_conv_1x1', '#', '(#+0)@nor_conv_3x3' in code-point order ('#' < '(' and '#' < '0').
        Assert.Equal("#+(#+0)@nor_conv_3x3+(0)@nor_conv_1x1", a.EquivalenceKey(Nb201Equivalence.NasBench201));
        Assert.Equal("nor_conv_1x1(x)+nor_conv_3x3(x)", a.EquivalenceKey(Nb201Equivalence.Computational));

        // Node 2 has only none inputs, so it is zero and a skip from it adds nothing: d and e compute the same.
        // NB201's definition only recognises a node as zero when its string is exactly '#'; node 2 is '#+#', so it
        // keeps d and e apart. The computational definition merges them.
        var d = Nb201Genotype.Parse("|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|");
        var e = Nb201Genotype.Parse("|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|skip_connect~2|");
        Assert.Equal("nor_conv_3x3(x)", d.EquivalenceKey(Nb201Equivalence.Computational));
        Assert.Equal("nor_conv_3x3(x)", e.EquivalenceKey(Nb201Equivalence.Computational));
        Assert.Equal("#+#+(0)@nor_conv_3x3", d.EquivalenceKey(Nb201Equivalence.NasBench201));
        Assert.Equal("#+#+#+(0)@nor_conv_3x3", e.EquivalenceKey(Nb201Equivalence.NasBench201));

        // A convolution of the zero node 1 gives BN's shift, not zero: NB201's key calls it '#', so it merges f with d.
        var f = Nb201Genotype.Parse("|none~0|+|none~0|none~1|+|nor_conv_3x3~0|nor_conv_1x1~1|none~2|");
        Assert.Equal(d.EquivalenceKey(Nb201Equivalence.NasBench201), f.EquivalenceKey(Nb201Equivalence.NasBench201));
        Assert.Equal("nor_conv_1x1(0)+nor_conv_3x3(x)", f.EquivalenceKey(Nb201Equivalence.Computational));
    }
    [Fact]
    public void ACellIsDegenerateExactlyWhenNoInputToOutputPathHasAConvolution()
    {
        // The independent reference: the four input→output paths of the cell written out, checked for every one of the
        // 15,625 cells (a path counts when none of its edges is none).
        int[][] paths = [[3], [0, 4], [1, 5], [0, 2, 5]];   // edge indices of 0→3, 0→1→3, 0→2→3, 0→1→2→3
        static bool Conv(Nb201Operation o) => o is Nb201Operation.NorConv1x1 or Nb201Operation.NorConv3x3;
        int degenerate = 0, zero = 0;
        for (int i = 0; i < Nb201Genotype.CellCount; i++)
        {
            var g = Nb201Genotype.FromIndex(i);
            var open = paths.Where(p => p.All(e => g.Operations[e] != Nb201Operation.None)).ToList();
            bool expected = !open.Any(p => p.Any(e => Conv(g.Operations[e])));
            Assert.Equal(expected, ((IGenotype)g).Degeneracy is not null);
            if (expected) degenerate++;
            if (open.Count == 0) { zero++; Assert.StartsWith("the cell's output is zero", ((IGenotype)g).Degeneracy); }
        }
        Assert.InRange(degenerate, zero + 1, Nb201Genotype.CellCount - 1);   // both kinds occur, and not every cell is degenerate
        // A convolution cut off from the output does not count: 1→2 is a convolution, but 2→3 is none and 0→3 a skip.
        Assert.NotNull(((IGenotype)Nb201Genotype.Parse("|avg_pool_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|")).Degeneracy);
        Assert.Null(((IGenotype)Nb201Genotype.Parse("|none~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_1x1~2|")).Degeneracy);
    }
}
