using NasSharp.Spaces;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Networks;

// The operations of DARTS' cells, after DARTS' cnn/operations.py (OPS, ReLUConvBN, DilConv, SepConv, Identity, Zero,
// FactorizedReduce). Convolutions have no bias; every BN has the `affine` flag (false in the search network, true in
// the evaluation network) and tracks running statistics, as nn.BatchNorm2d(C, affine=affine) does in the reference.
// Built from TorchSharp's nn.ReLU / nn.Conv2d / nn.BatchNorm2d and invoked through call(), so forward hooks see them.

/// <summary>
/// <c>dil_conv_kxk</c> (<c>DilConv</c>): ReLU → depthwise k×k convolution (stride, padding, dilation) → pointwise 1×1
/// convolution → BN.
/// </summary>
public sealed class DilConv : nn.Module<Tensor, Tensor>
{
    private readonly ReLU relu;
    private readonly Conv2d depthwise;
    private readonly Conv2d pointwise;
    private readonly BatchNorm2d bn;

    public DilConv(long inChannels, long outChannels, long kernel, long stride, long padding, long dilation, bool affine)
        : base(nameof(DilConv))
    {
        relu = nn.ReLU();
        depthwise = nn.Conv2d(inChannels, inChannels, kernel, stride: stride, padding: padding, dilation: dilation, groups: inChannels, bias: false);
        pointwise = nn.Conv2d(inChannels, outChannels, 1, bias: false);
        bn = nn.BatchNorm2d(outChannels, affine: affine);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => bn.call(pointwise.call(depthwise.call(relu.call(input))));
}

/// <summary>
/// <c>sep_conv_kxk</c> (<c>SepConv</c>): two <see cref="DilConv"/> blocks with dilation 1, the first with the stride
/// and equal channels, the second at stride 1 to the output channels.
/// </summary>
public sealed class SepConv : nn.Module<Tensor, Tensor>
{
    private readonly DilConv first;
    private readonly DilConv second;

    public SepConv(long inChannels, long outChannels, long kernel, long stride, long padding, bool affine) : base(nameof(SepConv))
    {
        first = new DilConv(inChannels, inChannels, kernel, stride, padding, 1, affine);
        second = new DilConv(inChannels, outChannels, kernel, 1, padding, 1, affine);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => second.call(first.call(input));
}

/// <summary>
/// <c>FactorizedReduce</c>: halves height and width with two 1×1 stride-2 convolutions (ReLU first), one on the input
/// and one on the input shifted by one pixel, each to half the output channels, concatenated, then BN. Heights and
/// widths must be even (so both halves have the same size).
/// </summary>
public sealed class FactorizedReduce : nn.Module<Tensor, Tensor>
{
    private readonly ReLU relu;
    private readonly Conv2d conv_1;
    private readonly Conv2d conv_2;
    private readonly BatchNorm2d bn;

    public FactorizedReduce(long inChannels, long outChannels, bool affine) : base(nameof(FactorizedReduce))
    {
        if (outChannels < 2 || outChannels % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(outChannels), outChannels, "FactorizedReduce splits its output channels between two convolutions: they must be even.");
        relu = nn.ReLU();
        conv_1 = nn.Conv2d(inChannels, outChannels / 2, 1, stride: 2, bias: false);
        conv_2 = nn.Conv2d(inChannels, outChannels / 2, 1, stride: 2, bias: false);
        bn = nn.BatchNorm2d(outChannels, affine: affine);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var x = relu.call(input);
        var shifted = x[TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(1), TensorIndex.Slice(1)];
        return bn.call(torch.cat([conv_1.call(x), conv_2.call(shifted)], 1)).MoveToOuterDisposeScope();
    }
}

/// <summary>DARTS' <c>OPS</c> table: the module of an operation on an edge with equal input and output channels.</summary>
public static class DartsOperations
{
    /// <summary>The module of <paramref name="op"/> (a <see cref="DartsPrimitives"/> token, e.g. <c>sep_conv_3x3</c>).</summary>
    public static nn.Module<Tensor, Tensor> Create(string op, long channels, long stride, bool affine)
    {
        ArgumentNullException.ThrowIfNull(op);
        return DartsPrimitives.TryParse(op, out var o) ? Create(o, channels, stride, affine)
            : throw new ArgumentException($"Unknown DARTS operation '{op}' (known: {DartsPrimitives.KnownTokens}).", nameof(op));
    }

    /// <summary>
    /// The module of <paramref name="op"/> at stride 1 or 2 (a reduction cell's edges from its inputs); a stride-2
    /// <c>skip_connect</c> is a <see cref="FactorizedReduce"/>, a stride-2 <c>none</c> is zero in the halved shape.
    /// </summary>
    public static nn.Module<Tensor, Tensor> Create(DartsOperation op, long channels, long stride, bool affine)
    {
        if (channels < 1) throw new ArgumentOutOfRangeException(nameof(channels), channels, "Channels must be positive.");
        if (stride is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(stride), stride, "DARTS edges have stride 1 (normal) or 2 (from a reduction cell's inputs).");
        return op switch
        {
            DartsOperation.None => new ZeroOperation(stride),
            DartsOperation.MaxPool3x3 => nn.MaxPool2d(3, stride: stride, padding: 1),
            DartsOperation.AvgPool3x3 => nn.AvgPool2d(3, stride: stride, padding: 1, count_include_pad: false),
            DartsOperation.SkipConnect => stride == 1 ? nn.Identity() : new FactorizedReduce(channels, channels, affine),
            DartsOperation.SepConv3x3 => new SepConv(channels, channels, 3, stride, 1, affine),
            DartsOperation.SepConv5x5 => new SepConv(channels, channels, 5, stride, 2, affine),
            DartsOperation.DilConv3x3 => new DilConv(channels, channels, 3, stride, 2, 2, affine),
            DartsOperation.DilConv5x5 => new DilConv(channels, channels, 5, stride, 4, 2, affine),
            _ => throw new ArgumentOutOfRangeException(nameof(op), op, "Not a DARTS operation."),
        };
    }

    /// <summary>ReLU → 1×1 convolution (no bias) → BN: how a DARTS cell brings its inputs to its channel count.</summary>
    public static ReluConvBn Preprocess(long inChannels, long outChannels, bool affine) =>
        new(inChannels, outChannels, 1, 1, 0, affine, trackRunningStats: true, convBias: false);
}
