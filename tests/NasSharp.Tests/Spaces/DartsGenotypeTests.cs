using NasSharp.Spaces;
using Xunit;

namespace NasSharp.Tests.Spaces;

public class DartsGenotypeTests
{
    // DARTS-V2 as published in DARTS' cnn/genotypes.py.
    private const string DartsV2Repr =
        "DARTS_V2 = Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), " +
        "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], " +
        "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), " +
        "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])";

    // The same, written by hand in the canonical form: each node's pairs ordered by input.
    private const string DartsV2 =
        "normal=sep_conv_3x3~0,sep_conv_3x3~1|sep_conv_3x3~0,sep_conv_3x3~1|skip_connect~0,sep_conv_3x3~1|skip_connect~0,dil_conv_3x3~2;" +
        "reduce=max_pool_3x3~0,max_pool_3x3~1|max_pool_3x3~1,skip_connect~2|max_pool_3x3~0,skip_connect~2|max_pool_3x3~1,skip_connect~2";

    [Fact]
    public void ParsesDartsV2AsThePaperPrintsIt()
    {
        var g = DartsGenotype.Parse(DartsV2Repr);
        Assert.Equal(DartsV2, g.Canonical);
        Assert.Equal("darts", g.Space);
        // Node 3 of the normal cell: skip_connect on c_{k-2}, dil_conv_3x3 on node 0.
        Assert.Equal(new DartsEdge(DartsOperation.SkipConnect, 0), g.Normal[6]);
        Assert.Equal(new DartsEdge(DartsOperation.DilConv3x3, 2), g.Normal[7]);
        Assert.Equal(new DartsEdge(DartsOperation.MaxPool3x3, 1), g.Reduce[2]);
        Assert.Equal(new DartsEdge(DartsOperation.SkipConnect, 2), g.Reduce[3]);
        Assert.Equal(g, DartsGenotype.Parse(DartsV2));
        Assert.Equal(DartsGenotype.Example, DartsV2);
    }

    [Fact]
    public void ParsesOtherSpellingsOfTheRepr()
    {
        // As DARTS' train_search.py logs it: range(2, 6), no assignment.
        var logged = "Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), " +
                     "('skip_connect', 0), ('sep_conv_3x3', 1), ('dil_conv_3x3', 2), ('skip_connect', 0)], normal_concat=range(2, 6), " +
                     "reduce=[('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('max_pool_3x3', 1), ('skip_connect', 2), " +
                     "('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2)], reduce_concat=range(2, 6))";
        Assert.Equal(DartsV2, DartsGenotype.Parse(logged).Canonical);

        // Over several lines, double quotes, trailing commas, keywords in another order, the concats left out.
        var pasted = """
            Genotype(
                reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
                        ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1),],
                normal=[("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
                        ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)],
            )
            """;
        Assert.Equal(DartsV2, DartsGenotype.Parse(pasted).Canonical);
    }

    [Fact]
    public void SampledGenotypesRoundTripThroughBothForms()
    {
        var space = new DartsSpace();
        var rng = new Random(11);
        for (int i = 0; i < 300; i++)
        {
            var g = space.Sample(rng);
            var back = DartsGenotype.Parse(g.Canonical);
            Assert.Equal(g, back);
            Assert.Equal(g.Canonical, back.Canonical);
            Assert.Equal(g.GetHashCode(), back.GetHashCode());
            Assert.Equal(g, DartsGenotype.Parse(g.ToPython()));
        }
    }

    [Fact]
    public void ThePairsOfANodeMayComeInEitherOrder()
    {
        var swapped = " normal=sep_conv_3x3~1,sep_conv_3x3~0|sep_conv_3x3~0,sep_conv_3x3~1|sep_conv_3x3~1,skip_connect~0|dil_conv_3x3~2,skip_connect~0;" +
                      "reduce=max_pool_3x3~1,max_pool_3x3~0|skip_connect~2,max_pool_3x3~1|skip_connect~2,max_pool_3x3~0|max_pool_3x3~1,skip_connect~2 ";
        Assert.Equal(DartsV2, DartsGenotype.Parse(swapped).Canonical);
        var a = new DartsGenotype(
            [new(DartsOperation.SepConv5x5, 1), new(DartsOperation.AvgPool3x3, 0), .. DartsGenotype.Parse(DartsV2).Normal[2..]],
            DartsGenotype.Parse(DartsV2).Reduce);
        Assert.Equal(new DartsEdge(DartsOperation.AvgPool3x3, 0), a.Normal[0]);
        Assert.StartsWith("normal=avg_pool_3x3~0,sep_conv_5x5~1|", a.Canonical);
    }

    public static TheoryData<string, string> MalformedCanonical => new()
    {
        { "", "it is empty" },
        { "normal=sep_conv_3x3~0,sep_conv_3x3~1|sep_conv_3x3~0,sep_conv_3x3~1|skip_connect~0,sep_conv_3x3~1|skip_connect~0,dil_conv_3x3~2",
            "it has 1 part separated by ';', a darts genotype has 2 (normal=…;reduce=…)" },
        { DartsV2.Replace("reduce=", "reduction="), "part 2 'reduction=" },
        { DartsV2.Replace("|skip_connect~0,dil_conv_3x3~2;", ";"), "the normal cell has 3 node groups separated by '|', DARTS cells have 4" },
        { DartsV2.Replace("max_pool_3x3~0,max_pool_3x3~1|", "max_pool_3x3~0|"), "node 0 of the reduce cell, 'max_pool_3x3~0', has 1 pair separated by ',', DARTS nodes have 2" },
        { DartsV2.Replace("dil_conv_3x3~2", "dil_conv_3x3"), "'dil_conv_3x3' in node 3 of the normal cell is not of the form op~input" },
        { DartsV2.Replace("dil_conv_3x3~2", "dil_conv_3x3~x"), "has input 'x', which is not a state number" },
        { DartsV2.Replace("dil_conv_3x3~2", "dil_conv_3x3~02"), "has input '02', which is not a state number" },
        { DartsV2.Replace("dil_conv_3x3~2", "conv_7x1_1x7~2"), "node 3 of the normal cell has unknown operation 'conv_7x1_1x7'" },
        { DartsV2.Replace("dil_conv_3x3~2", "none~2"), "node 3 of the normal cell uses 'none', which a derived DARTS cell never contains" },
        { DartsV2.Replace("dil_conv_3x3~2", "dil_conv_3x3~5"), "node 3 of the normal cell takes input 5, but node 3 takes inputs 0..4 only" },
        { DartsV2.Replace("reduce=max_pool_3x3~0,max_pool_3x3~1", "reduce=max_pool_3x3~0,max_pool_3x3~2"), "node 0 of the reduce cell takes input 2, but node 0 takes inputs 0..1 only" },
        { DartsV2.Replace("skip_connect~0,dil_conv_3x3~2", "skip_connect~2,dil_conv_3x3~2"), "node 3 of the normal cell takes input 2 twice; a DARTS node combines two distinct inputs" },
    };

    [Theory]
    [MemberData(nameof(MalformedCanonical))]
    public void MalformedCanonicalStringsAreRejectedWithTheReasonAndTheExpectedForm(string text, string reason)
    {
        var e = Assert.Throws<GenotypeFormatException>(() => DartsGenotype.Parse(text));
        Assert.Contains(reason, e.Message);
        Assert.Contains("Expected normal=op~a,op~b|op~a,op~b|op~a,op~b|op~a,op~b;reduce=", e.Message);
        Assert.Contains("sep_conv_3x3", e.Message);
    }

    public static TheoryData<string, string> MalformedRepr => new()
    {
        { DartsV2Repr.Replace("Genotype(", "Genotyp("), "it calls 'Genotyp', not Genotype(...)" },
        { DartsV2Repr.Replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 3, 4]"),
            "normal_concat is [2, 3, 4], but cells of this space concatenate all four intermediate nodes" },
        { DartsV2Repr.Replace("reduce_concat=[2, 3, 4, 5]", "reduce_concat=range(2, 7)"), "reduce_concat is range(2, 7), but cells of this space concatenate all four" },
        { DartsV2Repr.Replace("normal_concat=", "normal_concatenation="), "unknown keyword 'normal_concatenation'" },
        { DartsV2Repr.Replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 2, 0.31)"), "has more than two entries or lacks ')'" },
        { DartsV2Repr.Replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', -2)"), "expected the input state of 'dil_conv_3x3' in normal at character" },
        { DartsV2Repr.Replace("('dil_conv_3x3', 2)", "(dil_conv_3x3, 2)"), "expected a quoted operation name at character" },
        { DartsV2Repr.Replace(", ('dil_conv_3x3', 2)]", "]"), "the normal cell has 7 (op, input) pairs, DARTS cells have 8" },
        { DartsV2Repr.Replace("('max_pool_3x3', 1)]", "('none', 1)]"), "node 3 of the reduce cell uses 'none'" },
        { DartsV2Repr.Replace("('max_pool_3x3', 1)]", "('max_pool_3x3', 7)]"), "node 3 of the reduce cell takes input 7" },
        { DartsV2Repr[..^1], "expected ',' or ')', but the text ends" },
        { DartsV2Repr + " x", "unexpected text after the closing parenthesis" },
        { "Genotype(normal=[('sep_conv_3x3', 0)] * 8)", "expected ',' or ')' at character" },
        { DartsV2Repr.Replace("reduce=[", "normal=["), "'normal' is given twice" },
        { "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)])",
            "it has no reduce=[...] list" },
    };

    [Theory]
    [MemberData(nameof(MalformedRepr))]
    public void MalformedReprsAreRejectedWithTheReasonAndTheExpectedForm(string text, string reason)
    {
        var e = Assert.Throws<GenotypeFormatException>(() => DartsGenotype.Parse(text));
        Assert.Contains(reason, e.Message);
        Assert.Contains("Expected Genotype(normal=[('op', input), … 8 pairs], normal_concat=range(2, 6)", e.Message);
    }

    [Fact]
    public void TheConstructorRefusesWhatIsNotADartsCell()
    {
        var v2 = DartsGenotype.Parse(DartsV2);
        Assert.Contains("uses 'none'", Assert.Throws<ArgumentException>(() =>
            new DartsGenotype(v2.Normal.SetItem(0, new DartsEdge(DartsOperation.None, 0)), v2.Reduce)).Message);
        Assert.Contains("node 0 of the reduce cell takes input 2", Assert.Throws<ArgumentException>(() =>
            new DartsGenotype(v2.Normal, v2.Reduce.SetItem(1, new DartsEdge(DartsOperation.MaxPool3x3, 2)))).Message);
        Assert.Contains("has 7 genes", Assert.Throws<ArgumentException>(() => new DartsGenotype(v2.Normal.RemoveAt(7), v2.Reduce)).Message);
    }

    /// <summary>Logits that make each gene's operation and each node's pair of inputs stand out.</summary>
    private static double[,] Planted(DartsGenotype g, bool reduction, double strength = 4)
    {
        var logits = new double[DartsGenotype.MixedEdgeCount, 8];
        foreach (var (gene, i) in g.Cell(reduction).Select((gene, i) => (gene, i)))
            logits[DartsGenotype.EdgeIndex(i / 2, gene.Input), (int)gene.Operation] = strength;
        return logits;
    }

    [Fact]
    public void DeriveRecoversPlantedCells()
    {
        var space = new DartsSpace();
        var rng = new Random(3);
        for (int t = 0; t < 50; t++)
        {
            var g = space.Sample(rng);
            var normal = Planted(g, false);
            var reduce = Planted(g, true);
            // `none` dominating every edge changes nothing: it is never kept, and the comparison is among the others.
            for (int e = 0; e < DartsGenotype.MixedEdgeCount; e++) { normal[e, 0] = 2; reduce[e, 0] = 3; }
            Assert.Equal(g, DartsGenotype.Derive(normal, reduce));
        }
    }

    [Fact]
    public void DeriveComparesEdgesBySoftmaxWeightsAsDartsDoes()
    {
        // Node 1 (rows 2, 3, 4 = inputs 0, 1, 2). By raw logits input 0 (sep_conv_3x3 at 5) would be kept, but its softmax
        // weight is tiny next to `none` at 10: e⁵/(e¹⁰ + e⁵ + 6) ≈ 0.007, against e³/(e³ + 7) ≈ 0.74 (dil_conv_3x3 on
        // input 1) and e²/(e² + 7) ≈ 0.51 (max_pool_3x3 on input 2).
        var normal = new double[14, 8];
        normal[2, 0] = 10; normal[2, (int)DartsOperation.SepConv3x3] = 5;
        normal[3, (int)DartsOperation.DilConv3x3] = 3;
        normal[4, (int)DartsOperation.MaxPool3x3] = 2;
        var g = DartsGenotype.Derive(normal, new double[14, 8]);
        Assert.Equal(new[] { new DartsEdge(DartsOperation.DilConv3x3, 1), new DartsEdge(DartsOperation.MaxPool3x3, 2) }, g.Normal[2..4].ToArray());

        // All ties: every node keeps inputs 0 and 1 with max_pool_3x3, the first operation after `none`.
        var tied = DartsGenotype.Derive(new double[14, 8], new double[14, 8]);
        Assert.Equal("normal=max_pool_3x3~0,max_pool_3x3~1|max_pool_3x3~0,max_pool_3x3~1|max_pool_3x3~0,max_pool_3x3~1|max_pool_3x3~0,max_pool_3x3~1;" +
                     "reduce=max_pool_3x3~0,max_pool_3x3~1|max_pool_3x3~0,max_pool_3x3~1|max_pool_3x3~0,max_pool_3x3~1|max_pool_3x3~0,max_pool_3x3~1",
            tied.Canonical);

        // Node 3 (rows 9..13 = inputs 0..4): input 2 is strongest, e²/(2e² + 6) ≈ 0.36, with a tie between two operations;
        // inputs 3 and 4 tie for second place, e/(e + 7) ≈ 0.28 each: the lower input and the lower operation win.
        var reduce = new double[14, 8];
        reduce[11, (int)DartsOperation.SepConv5x5] = 2; reduce[11, (int)DartsOperation.AvgPool3x3] = 2;
        reduce[12, (int)DartsOperation.SkipConnect] = 1;
        reduce[13, (int)DartsOperation.DilConv5x5] = 1;
        var t = DartsGenotype.Derive(new double[14, 8], reduce);
        Assert.Equal(new[] { new DartsEdge(DartsOperation.AvgPool3x3, 2), new DartsEdge(DartsOperation.SkipConnect, 3) }, t.Reduce[6..8].ToArray());
    }

    [Fact]
    public void DeriveRefusesLogitsOfTheWrongShapeOrNotFinite()
    {
        var ok = new double[14, 8];
        Assert.Contains("[14, 8]", Assert.Throws<ArgumentException>(() => DartsGenotype.Derive(new double[14, 7], ok)).Message);
        Assert.Contains("[14, 8]", Assert.Throws<ArgumentException>(() => DartsGenotype.Derive(ok, new double[6, 8])).Message);
        var nan = new double[14, 8];
        nan[5, 3] = double.NaN;
        Assert.Contains("Logit [5, 3] is NaN", Assert.Throws<ArgumentException>(() => DartsGenotype.Derive(ok, nan)).Message);
    }

    [Fact]
    public void EdgeIndexFollowsDartsOrder()
    {
        Assert.Equal(14, DartsGenotype.MixedEdges.Count);
        for (int e = 0; e < 14; e++)
            Assert.Equal(e, DartsGenotype.EdgeIndex(DartsGenotype.MixedEdges[e].Node, DartsGenotype.MixedEdges[e].Input));
        Assert.Equal(0, DartsGenotype.EdgeIndex(0, 0));
        Assert.Equal(2, DartsGenotype.EdgeIndex(1, 0));
        Assert.Equal(5, DartsGenotype.EdgeIndex(2, 0));
        Assert.Equal(9, DartsGenotype.EdgeIndex(3, 0));
        Assert.Equal(13, DartsGenotype.EdgeIndex(3, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => DartsGenotype.EdgeIndex(1, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => DartsGenotype.EdgeIndex(4, 0));
    }
    [Fact]
    public void AGenotypeIsDegenerateWhenEveryNormalEdgeIsParameterFree()
    {
        const string pooling = "normal=avg_pool_3x3~0,avg_pool_3x3~1|avg_pool_3x3~0,max_pool_3x3~1|avg_pool_3x3~0,skip_connect~1|avg_pool_3x3~0,avg_pool_3x3~2;" +
            "reduce=sep_conv_3x3~0,sep_conv_3x3~1|dil_conv_3x3~1,sep_conv_3x3~2|max_pool_3x3~0,skip_connect~2|max_pool_3x3~1,skip_connect~2";
        IGenotype degenerate = DartsGenotype.Parse(pooling);
        Assert.Equal("every edge of the normal cell is parameter-free (avg_pool_3x3 ×6, max_pool_3x3 ×1, skip_connect ×1): the normal cells learn nothing", degenerate.Degeneracy);
        // One convolution on a normal edge is enough; the reduction cell does not decide it.
        IGenotype one = DartsGenotype.Parse(pooling.Replace("avg_pool_3x3~0,avg_pool_3x3~2", "avg_pool_3x3~0,sep_conv_5x5~2", StringComparison.Ordinal));
        Assert.Null(one.Degeneracy);
        Assert.Null(((IGenotype)DartsGenotype.Parse(DartsGenotype.Example)).Degeneracy);
    }
}
