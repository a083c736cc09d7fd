namespace NasSharp.Spaces;

/// <summary>
/// The eight candidate operations of a DARTS edge (Liu, Simonyan &amp; Yang, ICLR 2019, §3.1), in the order of
/// <c>PRIMITIVES</c> in DARTS' <c>genotypes.py</c>: the column order of the architecture logits.
/// </summary>
public enum DartsOperation
{
    /// <summary><c>none</c>: the zero operation. Only the relaxed search network uses it; derived cells never do.</summary>
    None,
    /// <summary><c>max_pool_3x3</c>: 3×3 max pooling, padding 1.</summary>
    MaxPool3x3,
    /// <summary><c>avg_pool_3x3</c>: 3×3 average pooling, padding 1, padding not counted.</summary>
    AvgPool3x3,
    /// <summary><c>skip_connect</c>: identity, or a factorized reduction on a stride-2 edge.</summary>
    SkipConnect,
    /// <summary><c>sep_conv_3x3</c>: two ReLU – depthwise 3×3 – pointwise 1×1 – BN blocks.</summary>
    SepConv3x3,
    /// <summary><c>sep_conv_5x5</c>: two ReLU – depthwise 5×5 – pointwise 1×1 – BN blocks.</summary>
    SepConv5x5,
    /// <summary><c>dil_conv_3x3</c>: ReLU – depthwise 3×3 with dilation 2 – pointwise 1×1 – BN.</summary>
    DilConv3x3,
    /// <summary><c>dil_conv_5x5</c>: ReLU – depthwise 5×5 with dilation 2 – pointwise 1×1 – BN.</summary>
    DilConv5x5,
}

/// <summary>Tokens of <see cref="DartsOperation"/> as DARTS' genotypes spell them (<c>PRIMITIVES</c>).</summary>
public static class DartsPrimitives
{
    private static readonly string[] Tokens =
        ["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"];

    /// <summary>All eight operations in <c>PRIMITIVES</c> order, <c>none</c> first.</summary>
    public static IReadOnlyList<DartsOperation> All { get; } = Enum.GetValues<DartsOperation>();

    /// <summary>The seven operations a derived cell may use (all but <c>none</c>).</summary>
    public static IReadOnlyList<DartsOperation> Candidates { get; } = [.. All.Where(o => o != DartsOperation.None)];

    /// <summary>"none, max_pool_3x3, …, dil_conv_5x5", for error messages.</summary>
    public static string KnownTokens { get; } = string.Join(", ", Tokens);

    /// <summary>"max_pool_3x3, …, dil_conv_5x5": the operations of a derived cell, for error messages.</summary>
    public static string CandidateTokens { get; } = string.Join(", ", Tokens[1..]);

    public static string Token(this DartsOperation op) =>
        (int)op >= 0 && (int)op < Tokens.Length ? Tokens[(int)op] : throw new ArgumentOutOfRangeException(nameof(op), op, "Not a DARTS operation.");

    public static bool TryParse(ReadOnlySpan<char> token, out DartsOperation op)
    {
        for (int i = 0; i < Tokens.Length; i++)
            if (token.SequenceEqual(Tokens[i])) { op = (DartsOperation)i; return true; }
        op = default;
        return false;
    }
}
