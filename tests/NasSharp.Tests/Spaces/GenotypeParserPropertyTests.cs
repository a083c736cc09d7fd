using System.Text;
using CsCheck;
using NasSharp.Spaces;
using Xunit;

namespace NasSharp.Tests.Spaces;

/// <summary>
/// The four architecture parsers against generated input: every generated valid genotype parses back from its canonical
/// string; every malformed string ends in a <see cref="GenotypeFormatException"/> (nothing else: no crash, no libtorch
/// error later) whose message is one line of bounded length; and no input under 1 MB makes a parse allocate much.
/// </summary>
[Trait("Category", "Reliability")]
public class GenotypeParserPropertyTests
{
    /// <summary>
    /// The longest message a parser may give: its fixed text (the expected form, an example; DARTS' is the longest, about
    /// 800 characters) plus a few excerpts of the input, each at most <see cref="GenotypeFormatException.ExcerptLength"/>
    /// characters and its length.
    /// </summary>
    private const int MaxMessageLength = 1_400;

    private const int MalformedCases = 10_000;

    // ---------------------------------------------------------------- generators of valid genotypes

    private static readonly Gen<MlpGenotype> ValidMlp =
        from width in Gen.Int[1, MlpGenotype.MaxWidth]
        from genes in Gen.Select(Gen.Int[0, Activations.All.Count - 1], Gen.ULong).Array[1, 12]
        select new MlpGenotype(width, genes.Select((gene, l) => new MlpLayer(
            Activations.All[gene.Item1],
            // Bit j of the mask: a skip from layer j + 1, for the layers before this one.
            [.. Enumerable.Range(0, l).Where(j => (gene.Item2 >> j & 1) == 1).Select(j => j + 1)])));

    private static readonly Gen<Nb201Genotype> ValidNb201 = Gen.Int[0, Nb201Genotype.CellCount - 1].Select(Nb201Genotype.FromIndex);

    /// <summary>One DARTS cell: node k's two distinct inputs below k + 2, an operation other than none on each.</summary>
    private static readonly Gen<DartsEdge[]> DartsCell =
        Gen.Select(Gen.Int[0, 1_000_000].Array[DartsGenotype.NodeCount], Gen.Int[0, DartsPrimitives.Candidates.Count - 1].Array[DartsGenotype.GeneCount],
            (picks, ops) => Enumerable.Range(0, DartsGenotype.NodeCount).SelectMany(k =>
            {
                int states = k + 2, a = picks[k] % states, b = (a + 1 + picks[k] / states % (states - 1)) % states;
                return new[] { new DartsEdge(DartsPrimitives.Candidates[ops[2 * k]], a), new DartsEdge(DartsPrimitives.Candidates[ops[2 * k + 1]], b) };
            }).ToArray());

    private static readonly Gen<MobileNetGenotype> ValidMobileNet =
        Gen.Int[0, MobileNetOperations.All.Count - 1].Array[1, MobileNetGenotype.MaxLayers].Select(ops => new MobileNetGenotype(ops.Select(o => (MobileNetOperation)o)));

    private static readonly Gen<DartsGenotype> ValidDarts = Gen.Select(DartsCell, DartsCell, (n, r) => new DartsGenotype(n, r));

    // ---------------------------------------------------------------- generators of malformed strings

    /// <summary>Pieces an edit inserts: each grammar's separators, numbers at and past int's range, names, line breaks,
    /// control characters, an unpaired surrogate, text of other scripts.</summary>
    private static readonly string[] Fragments =
    [
        "|", "+", "~", "-", ",", ";", "=", "/", "(", ")", "[", "]", "'", "\"", " ", "\n", "\r\n", "\t", "\0", "\u2028", "\ud800", "é", "😀",
        "0", "1", "2", "5", "6", "9", "00", "01", "-1", "16384", "16385", "2147483647", "2147483648", "99999999999999999999",
        "w", "w0/", "w16384/", "relu", "e3k3", "e6k7", "skip", "k5", "e6", "silu", "none", "skip_connect", "nor_conv_3x3", "sep_conv_3x3", "max_pool_3x3",
        "normal=", "reduce=", "Genotype(", "normal_concat=", "range(0, 2147483647)", "range(2, 6)", "[2, 3, 4, 5]", "('sep_conv_3x3', 0)",
    ];

    private enum EditKind { Delete, Insert, Replace, Repeat, Truncate }

    private sealed record Edit(EditKind Kind, double At, int Length, int Fragment, int Times)
    {
        public string Apply(string s)
        {
            int at = (int)(At * s.Length), length = Math.Min(Length, s.Length - at);
            return Kind switch
            {
                EditKind.Delete => s.Remove(at, length),
                EditKind.Insert => s.Insert(at, Fragments[Fragment]),
                EditKind.Replace => s.Remove(at, length).Insert(at, Fragments[Fragment]),
                EditKind.Repeat => s.Insert(at, string.Concat(Enumerable.Repeat(s.Substring(at, length), Times))),
                _ => s[..at],
            };
        }
    }

    private static readonly Gen<Edit> AnEdit = Gen.Select(Gen.Enum<EditKind>(), Gen.Double.Unit, Gen.Int[1, 12], Gen.Int[0, Fragments.Length - 1], Gen.Int[1, 40],
        (kind, at, length, fragment, times) => new Edit(kind, at, length, fragment, times));

    /// <summary>Valid strings with one to four edits (most then malformed), and strings of arbitrary characters.</summary>
    private static Gen<string> Malformed(Gen<string> valid) => Gen.Frequency(
        (8, from s in valid from edits in AnEdit.Array[1, 4] select edits.Aggregate(s, (t, e) => e.Apply(t))),
        (1, Gen.String),
        (1, Gen.Int[0, Fragments.Length - 1].Array[0, 30].Select(parts => string.Concat(parts.Select(p => Fragments[p])))));

    // ---------------------------------------------------------------- properties

    [Fact]
    public void GeneratedMlpGenotypesRoundTrip() =>
        FixedSeedSample.Run(ValidMlp, "mlp0roundtrip", FixedSeedSample.Cases(2_000), g => RoundTrips(g, MlpGenotype.Parse));

    [Fact]
    public void GeneratedNb201GenotypesRoundTrip() =>
        FixedSeedSample.Run(ValidNb201, "nb201roundtrip", FixedSeedSample.Cases(2_000), g => RoundTrips(g, Nb201Genotype.Parse));

    [Fact]
    public void GeneratedDartsGenotypesRoundTripThroughBothForms() =>
        FixedSeedSample.Run(ValidDarts, "dartsroundtrip", FixedSeedSample.Cases(2_000), g =>
            RoundTrips(g, DartsGenotype.Parse) && DartsGenotype.Parse(g.ToPython()).Equals(g));

    [Fact]
    public void GeneratedMobileNetGenotypesRoundTrip() =>
        FixedSeedSample.Run(ValidMobileNet, "mobileroundtrip", FixedSeedSample.Cases(2_000), g => RoundTrips(g, MobileNetGenotype.Parse));

    [Fact]
    public void MalformedMobileNetStringsEndInOneFormatExceptionLine() =>
        Assert.True(FixedSeedSample.Run(Malformed(ValidMobileNet.Select(g => g.Canonical)), "mobilemalformed", FixedSeedSample.Cases(MalformedCases),
            s => IsRefusedCleanly(s, MobileNetGenotype.Parse)) >= MalformedCases);

    [Fact]
    public void MalformedMlpStringsEndInOneFormatExceptionLine() =>
        Assert.True(FixedSeedSample.Run(Malformed(ValidMlp.Select(g => g.Canonical)), "mlp0malformed", FixedSeedSample.Cases(MalformedCases),
            s => IsRefusedCleanly(s, MlpGenotype.Parse)) >= MalformedCases);

    [Fact]
    public void MalformedNb201StringsEndInOneFormatExceptionLine() =>
        Assert.True(FixedSeedSample.Run(Malformed(ValidNb201.Select(g => g.Canonical)), "nb201malformed", FixedSeedSample.Cases(MalformedCases),
            s => IsRefusedCleanly(s, Nb201Genotype.Parse)) >= MalformedCases);

    [Fact]
    public void MalformedDartsStringsInEitherFormEndInOneFormatExceptionLine() =>
        Assert.True(FixedSeedSample.Run(Malformed(Gen.OneOf(ValidDarts.Select(g => g.Canonical), ValidDarts.Select(g => g.ToPython()))),
            "dartsmalformed", FixedSeedSample.Cases(MalformedCases), s => IsRefusedCleanly(s, DartsGenotype.Parse)) >= MalformedCases);

    private static bool RoundTrips<T>(T genotype, Func<string, T> parse) where T : IGenotype
    {
        var back = parse(genotype.Canonical);
        Assert.Equal(genotype, back);
        Assert.Equal(genotype.Canonical, back.Canonical);
        return true;
    }

    /// <summary>
    /// True when <paramref name="text"/> is refused with a clean message; false when it happens to be valid (then its
    /// canonical form must parse back to it). Any other exception fails the property.
    /// </summary>
    private static bool IsRefusedCleanly<T>(string text, Func<string, T> parse) where T : IGenotype
    {
        T parsed;
        try
        {
            parsed = parse(text);
        }
        catch (GenotypeFormatException e)
        {
            AssertOneBoundedLine(e.Message);
            return true;
        }
        RoundTrips(parsed, parse);
        return false;
    }

    private static void AssertOneBoundedLine(string message)
    {
        Assert.True(message.Length <= MaxMessageLength, $"A message of {message.Length} characters: {message[..200]}…");
        Assert.DoesNotContain(message, c => char.IsControl(c) || c is '\u2028' or '\u2029');
        for (int i = 0; i < message.Length; i++)
            if (char.IsSurrogate(message[i]))
                Assert.True(char.IsSurrogatePair(message, char.IsHighSurrogate(message[i]) ? i : i - 1), "A message has an unpaired surrogate.");
    }

    // ---------------------------------------------------------------- limits and allocation

    [Fact]
    public void LimitsAreCheckedAndNamedInTheMessage()
    {
        Assert.Equal(MlpGenotype.MaxWidth, MlpGenotype.Parse($"w{MlpGenotype.MaxWidth}/relu").Width);
        Assert.Contains("width '16385' is above the limit of 16,384", Assert.Throws<GenotypeFormatException>(() => MlpGenotype.Parse("w16385/relu")).Message);
        Assert.Contains("width '2147483647' is above the limit of 16,384", Assert.Throws<GenotypeFormatException>(() => MlpGenotype.Parse("w2147483647/relu")).Message);
        Assert.Contains("width '99999999999999999999' is above the limit", Assert.Throws<GenotypeFormatException>(() => MlpGenotype.Parse("w99999999999999999999/relu")).Message);

        string Layers(int depth) => "w8/" + string.Join("-", Enumerable.Range(1, depth).Select(l => "relu" + string.Concat(Enumerable.Range(1, l - 1).Select(j => $"+{j}"))));
        Assert.Equal(MlpGenotype.MaxDepth, MlpGenotype.Parse(Layers(MlpGenotype.MaxDepth)).Depth);
        Assert.Contains("it has 257 layers, above the limit of 256", Assert.Throws<GenotypeFormatException>(() => MlpGenotype.Parse(Layers(MlpGenotype.MaxDepth + 1))).Message);

        // The space's settings take the same limits.
        Assert.Contains("--width 16385: must be between 1 and 16384",
            Assert.Throws<SettingException>(() => SpaceRegistry.Default.Create("mlp", new Settings([new("width", "16385")]))).Message);
        Assert.Contains("--depth 257: must be between 1 and 256",
            Assert.Throws<SettingException>(() => SpaceRegistry.Default.Create("mlp", new Settings([new("depth", "257")]))).Message);
    }

    [Fact]
    public void TheDartsRangeBombIsRefusedByItsEnds()
    {
        const string bomb = "Genotype(normal=[('sep_conv_3x3', 0)], normal_concat=range(0, 2147483647), reduce=[])";
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<GenotypeFormatException>(() => DartsGenotype.Parse(bomb));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("normal_concat is range(0, 2147483647), but cells of this space concatenate all four intermediate nodes", e.Message);
        Assert.True(allocated < 1 << 20, $"{allocated:N0} bytes allocated");
    }

    [Fact]
    public void AMessageQuotesAnExcerptOnOneLine()
    {
        var e = Assert.Throws<GenotypeFormatException>(() => MlpGenotype.Parse("w8/relu\n-tanh" + new string('x', 1_000_000)));
        Assert.Contains("'w8/relu\\n-tanhxxx", e.Message);
        Assert.Contains("…' (1,000,013 characters)", e.Message);
        AssertOneBoundedLine(e.Message);
        Assert.Equal("'a\\u2028b\\ud800'", GenotypeFormatException.Quote("a\u2028b\ud800"));
    }

    /// <summary>
    /// Inputs of about 1 MB (1,000,000 characters) built to defeat a parser that splits or repeats before checking, by
    /// name (the test takes the name, not the megabyte, so the test's display name stays short).
    /// </summary>
    private static readonly Dictionary<string, (Func<string, IGenotype> Parse, Func<string> Input)> Hostile = new()
    {
        ["mlp: dashes"] = (MlpGenotype.Parse, () => new string('-', N)),
        ["mlp: layers"] = (MlpGenotype.Parse, () => Fill("w8/", "relu-", "relu")),
        ["mlp: skips"] = (MlpGenotype.Parse, () => Fill("w8/relu-relu", "+1")),
        ["mlp: a long skip number"] = (MlpGenotype.Parse, () => Fill("w8/relu-relu+", "1")),
        ["mlp: a long width"] = (MlpGenotype.Parse, () => Fill("w", "9", "/relu")),
        ["mlp: a long activation"] = (MlpGenotype.Parse, () => Fill("w8/", "x")),
        ["nb201: pluses"] = (Nb201Genotype.Parse, () => new string('+', N)),
        ["nb201: bars"] = (Nb201Genotype.Parse, () => new string('|', N)),
        ["nb201: spaces"] = (Nb201Genotype.Parse, () => new string(' ', N)),
        ["nb201: edges"] = (Nb201Genotype.Parse, () => Fill("|none~0|+|", "none~0|", "+|none~0|none~1|none~2|")),
        ["nb201: a long input number"] = (Nb201Genotype.Parse, () => Fill("|none~", "0", "|+|none~0|none~1|+|none~0|none~1|none~2|")),
        ["nb201: a long operation"] = (Nb201Genotype.Parse, () => Fill("|", "a", "~0|+|none~0|none~1|+|none~0|none~1|none~2|")),
        ["mobilenet: dashes"] = (MobileNetGenotype.Parse, () => new string('-', N)),
        ["mobilenet: layers"] = (MobileNetGenotype.Parse, () => Fill("", "e3k3-", "e3k3")),
        ["mobilenet: a long operation"] = (MobileNetGenotype.Parse, () => Fill("e3k3-", "e")),
        ["darts: semicolons"] = (DartsGenotype.Parse, () => new string(';', N)),
        ["darts: node groups"] = (DartsGenotype.Parse, () => Fill("normal=", "|")),
        ["darts: pairs"] = (DartsGenotype.Parse, () => Fill("normal=", ",")),
        ["darts: a long gene list"] = (DartsGenotype.Parse, () => Fill("Genotype(normal=[", "('sep_conv_3x3', 0), ")),
        ["darts: a long concat list"] = (DartsGenotype.Parse, () => Fill("Genotype(normal_concat=[", "2, ")),
        ["darts: a long operation"] = (DartsGenotype.Parse, () => Fill("Genotype(normal=[('", "a", "', 0)])")),
        ["darts: a long identifier"] = (DartsGenotype.Parse, () => Fill("Genotype(", "x")),
        ["darts: quotes"] = (DartsGenotype.Parse, () => Fill("Genotype(normal=[(", "'")),
        ["darts: parentheses"] = (DartsGenotype.Parse, () => new string('(', N)),
        ["darts: a long range end"] = (DartsGenotype.Parse, () => Fill("Genotype(normal_concat=range(", "9")),
    };

    private const int N = 1_000_000;

    private static string Fill(string prefix, string unit, string suffix = "")
    {
        var sb = new StringBuilder(prefix);
        while (sb.Length + unit.Length + suffix.Length <= N) sb.Append(unit);
        return sb.Append(suffix).ToString();
    }

    public static TheoryData<string> HostileInputs() => [.. Hostile.Keys];

    [Theory]
    [MemberData(nameof(HostileInputs))]
    public void ParsingAnInputUnder1MBAllocatesLittle(string name)
    {
        var (parse, input) = Hostile[name];
        var text = input();
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<GenotypeFormatException>(() => parse(text));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        AssertOneBoundedLine(e.Message);
        // The bound is 100 MB; a parse that reads in place stays near the input's own 2 MB (UTF-16).
        Assert.True(allocated < 8 << 20, $"{allocated:N0} bytes allocated parsing {GenotypeFormatException.Quote(text)}");
    }
}
