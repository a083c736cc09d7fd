namespace NasSharp.Spaces;

/// <summary>
/// The five candidate operations of a NAS-Bench-201 edge (Dong &amp; Yang, ICLR 2020, §2.1), in the
/// benchmark's own order (<c>NAS_BENCH_201</c> in AutoDL-Projects' <c>cell_operations.py</c>).
/// </summary>
public enum Nb201Operation
{
    /// <summary><c>none</c>: the zero operation; the edge contributes nothing.</summary>
    None,
    /// <summary><c>skip_connect</c>: identity.</summary>
    SkipConnect,
    /// <summary><c>nor_conv_1x1</c>: ReLU, 1×1 convolution, batch norm.</summary>
    NorConv1x1,
    /// <summary><c>nor_conv_3x3</c>: ReLU, 3×3 convolution (padding 1), batch norm.</summary>
    NorConv3x3,
    /// <summary><c>avg_pool_3x3</c>: 3×3 average pooling, stride 1, padding 1, padding not counted.</summary>
    AvgPool3x3,
}

/// <summary>Tokens of <see cref="Nb201Operation"/> as NAS-Bench-201 arch strings spell them.</summary>
public static class Nb201Operations
{
    private static readonly string[] Tokens = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"];

    /// <summary>All five operations in the benchmark's order (the digit order of a space index).</summary>
    public static IReadOnlyList<Nb201Operation> All { get; } = Enum.GetValues<Nb201Operation>();

    /// <summary>"none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3", for error messages.</summary>
    public static string KnownTokens { get; } = string.Join(", ", Tokens);

    public static string Token(this Nb201Operation op) =>
        (int)op >= 0 && (int)op < Tokens.Length ? Tokens[(int)op] : throw new ArgumentOutOfRangeException(nameof(op), op, "Not an NB201 operation.");

    public static bool TryParse(ReadOnlySpan<char> token, out Nb201Operation op)
    {
        for (int i = 0; i < Tokens.Length; i++)
            if (token.SequenceEqual(Tokens[i])) { op = (Nb201Operation)i; return true; }
        op = default;
        return false;
    }

    /// <summary>Whether the operation has weights (a ReLU–Conv–BN); the others are parameter-free.</summary>
    public static bool IsConvolution(this Nb201Operation op) => op is Nb201Operation.NorConv1x1 or Nb201Operation.NorConv3x3;
}
