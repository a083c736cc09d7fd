using System.Collections.Immutable;

namespace NasSharp.Spaces;

/// <summary>
/// The candidates of one searchable layer of the <c>mobilenet</c> space, the choices of ProxylessNAS (Cai, Zhu &amp; Han,
/// ICLR 2019, arXiv 1812.00332) and FairNAS (Chu et al., ICCV 2021, arXiv 1907.01845): an inverted residual block
/// (Sandler et al., CVPR 2018, arXiv 1801.04381) of expansion e ∈ {3, 6} and depthwise kernel k ∈ {3, 5, 7}, or
/// <c>skip</c>. The order is the order of a layer's candidates in a weight-sharing path.
/// </summary>
public enum MobileNetOperation
{
    E3K3,
    E3K5,
    E3K7,
    E6K3,
    E6K5,
    E6K7,
    /// <summary>Identity: the layer is left out (allowed only where the identity fits, stride 1 and equal channels).</summary>
    Skip,
}

/// <summary>Tokens and shapes of <see cref="MobileNetOperation"/>.</summary>
public static class MobileNetOperations
{
    private static readonly string[] Tokens = ["e3k3", "e3k5", "e3k7", "e6k3", "e6k5", "e6k7", "skip"];

    /// <summary>All seven candidates in path order.</summary>
    public static IReadOnlyList<MobileNetOperation> All { get; } = Enum.GetValues<MobileNetOperation>();

    /// <summary>The six inverted residual blocks, for layers where <c>skip</c> does not fit.</summary>
    public static IReadOnlyList<MobileNetOperation> Blocks { get; } = [.. All.Where(o => o != MobileNetOperation.Skip)];

    /// <summary>"e3k3, e3k5, e3k7, e6k3, e6k5, e6k7, skip", for error messages.</summary>
    public static string KnownTokens { get; } = string.Join(", ", Tokens);

    public static string Token(this MobileNetOperation op) =>
        Enum.IsDefined(op) ? Tokens[(int)op] : throw new ArgumentOutOfRangeException(nameof(op), op, "Not a mobilenet operation.");

    /// <summary>The expansion ratio e of an inverted residual block (hidden channels = e · input channels).</summary>
    public static int Expansion(this MobileNetOperation op) => op switch
    {
        MobileNetOperation.E3K3 or MobileNetOperation.E3K5 or MobileNetOperation.E3K7 => 3,
        MobileNetOperation.E6K3 or MobileNetOperation.E6K5 or MobileNetOperation.E6K7 => 6,
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "Only inverted residual blocks have an expansion."),
    };

    /// <summary>The depthwise kernel size k of an inverted residual block.</summary>
    public static int Kernel(this MobileNetOperation op) => op switch
    {
        MobileNetOperation.E3K3 or MobileNetOperation.E6K3 => 3,
        MobileNetOperation.E3K5 or MobileNetOperation.E6K5 => 5,
        MobileNetOperation.E3K7 or MobileNetOperation.E6K7 => 7,
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "Only inverted residual blocks have a kernel."),
    };

    public static bool TryParse(ReadOnlySpan<char> token, out MobileNetOperation op)
    {
        for (int i = 0; i < Tokens.Length; i++)
            if (token.SequenceEqual(Tokens[i])) { op = (MobileNetOperation)i; return true; }
        op = default;
        return false;
    }
}

/// <summary>
/// A <c>mobilenet</c> architecture: one <see cref="MobileNetOperation"/> per searchable layer, in network order. The
/// skeleton (channels, strides, layers per stage) belongs to the space, not the genotype, as NB201's does; the space
/// checks that a genotype fits it (its length, and <c>skip</c> only where the identity fits). Canonical form: the layers'
/// tokens joined by '-', e.g. <c>e6k3-skip-e3k5</c>.
/// </summary>
public sealed record MobileNetGenotype : IGenotype
{
    public const string ExpectedForm = "op-op-…-op, one token per searchable layer, op one of {0}";
    public const string Example = "e3k3-e6k5-skip-e6k3-e3k7-e6k7-skip-e3k5-skip-e6k3";

    /// <summary>More layers than any skeleton of the space has (at most 8 per stage, 6 stages).</summary>
    public const int MaxLayers = 48;

    public MobileNetGenotype(IEnumerable<MobileNetOperation> operations)
    {
        ArgumentNullException.ThrowIfNull(operations);
        Operations = [.. operations];
        if (Operations.Length is 0 or > MaxLayers)
            throw new ArgumentException($"A mobilenet genotype has 1..{MaxLayers} layers, got {Operations.Length}.", nameof(operations));
        foreach (var op in Operations)
            if (!Enum.IsDefined(op)) throw new ArgumentOutOfRangeException(nameof(operations), op, "Not a mobilenet operation.");
    }

    /// <summary>One operation per searchable layer, in network order.</summary>
    public ImmutableArray<MobileNetOperation> Operations { get; }

    public string Space => MobileNetSpace.Name;

    public string Canonical => string.Join("-", Operations.Select(o => o.Token()));

    public override string ToString() => Canonical;

    public bool Equals(MobileNetGenotype? other) => other is not null && Operations.SequenceEqual(other.Operations);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var op in Operations) hash.Add(op);
        return hash.ToHashCode();
    }

    /// <summary>This genotype with layer <paramref name="layer"/> set to <paramref name="op"/>.</summary>
    public MobileNetGenotype With(int layer, MobileNetOperation op) => new(Operations.SetItem(layer, op));

    /// <summary>
    /// Parses the canonical form (surrounding whitespace ignored). Only the syntax is checked here; whether the genotype fits
    /// a skeleton is <see cref="MobileNetSpace.Parse"/>'s question. The text is read in place and the layer count checked
    /// before anything is allocated per layer.
    /// </summary>
    public static MobileNetGenotype Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        GenotypeFormatException Fail(string why) =>
            new($"Malformed mobilenet architecture {GenotypeFormatException.Quote(text)}: {why}. Expected {string.Format(System.Globalization.CultureInfo.InvariantCulture, ExpectedForm, MobileNetOperations.KnownTokens)}, e.g. {Example}");
        static string Q(ReadOnlySpan<char> part) => GenotypeFormatException.Quote(part);

        var s = text.AsSpan().Trim();
        if (s.Length == 0) throw Fail("it is empty");
        int count = s.Count('-') + 1;
        if (count > MaxLayers) throw Fail($"it has {count:N0} layers separated by '-', at most {MaxLayers} are allowed");
        var ops = new MobileNetOperation[count];
        int layer = 0;
        foreach (var range in s.Split('-'))
        {
            var token = s[range];
            if (token.Length == 0) throw Fail($"layer {layer + 1} is empty (two '-' in a row, or one at an end)");
            if (!MobileNetOperations.TryParse(token, out ops[layer]))
                throw Fail($"layer {layer + 1} is {Q(token)}, not an operation (known: {MobileNetOperations.KnownTokens})");
            layer++;
        }
        return new MobileNetGenotype(ops);
    }
}
