using NasSharp.Spaces;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Networks;

// The layers of NAS-Bench-201's inference networks, after AutoDL-Projects xautodl/models/cell_operations.py
// (ReLUConvBN, Zero, ResNetBasicblock) and xautodl/models/cell_infers/cells.py (InferCell). They are built from
// TorchSharp's own nn.ReLU / nn.Conv2d / nn.BatchNorm2d modules, invoked through call() (which, unlike forward(),
// runs forward hooks), so that hook-based proxies find them.

/// <summary><c>nor_conv_kxk</c>: ReLU → Conv k×k → BatchNorm (<c>ReLUConvBN</c>; DARTS' too, with <c>convBias</c> false).</summary>
public sealed class ReluConvBn : nn.Module<Tensor, Tensor>
{
    private readonly ReLU relu;
    private readonly Conv2d conv;
    private readonly BatchNorm2d bn;

    /// <param name="convBias">Whether the convolution has a bias; by default NAS-Bench-201's rule, only when BN is not affine.</param>
    public ReluConvBn(long inChannels, long outChannels, long kernel, long stride, long padding, bool affine, bool trackRunningStats, bool? convBias = null)
        : base(nameof(ReluConvBn))
    {
        relu = nn.ReLU();
        conv = nn.Conv2d(inChannels, outChannels, kernel, stride: stride, padding: padding, bias: convBias ?? !affine);
        bn = nn.BatchNorm2d(outChannels, affine: affine, track_running_stats: trackRunningStats);
        RegisterComponents();
    }

    public Conv2d Conv => conv;
    public BatchNorm2d BatchNorm => bn;

    public override Tensor forward(Tensor input) => bn.call(conv.call(relu.call(input)));
}

/// <summary>
/// <c>none</c>: the zero operation, computed as x·0 like the references (so a non-finite input stays visible), with
/// equal input and output channels; with a stride s it is zero in the strided shape, x[:, :, ::s, ::s]·0 (DARTS' <c>Zero</c>).
/// </summary>
public sealed class ZeroOperation : ParameterLessModule<Tensor, Tensor>
{
    public ZeroOperation(long stride = 1) : base(nameof(ZeroOperation))
    {
        if (stride < 1) throw new ArgumentOutOfRangeException(nameof(stride), stride, "Stride must be positive.");
        Stride = stride;
    }

    public long Stride { get; }

    public override Tensor forward(Tensor input) =>
        Stride == 1 ? input.mul(0.0) : input[TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(step: Stride), TensorIndex.Slice(step: Stride)].mul(0.0);
}

/// <summary>
/// The residual reduction block between stages (<c>ResNetBasicblock</c> with stride 2):
/// ReLUConvBN 3×3 stride 2 → ReLUConvBN 3×3, plus the shortcut AvgPool2d(2) → Conv 1×1 (no BN).
/// </summary>
public sealed class Nb201ReductionBlock : nn.Module<Tensor, Tensor>
{
    private readonly ReluConvBn conv_a;
    private readonly ReluConvBn conv_b;
    private readonly Sequential downsample;

    public Nb201ReductionBlock(long inChannels, long outChannels, bool affine, bool trackRunningStats)
        : base(nameof(Nb201ReductionBlock))
    {
        conv_a = new ReluConvBn(inChannels, outChannels, 3, 2, 1, affine, trackRunningStats);
        conv_b = new ReluConvBn(outChannels, outChannels, 3, 1, 1, affine, trackRunningStats);
        downsample = nn.Sequential(
            ("avg_pool", nn.AvgPool2d(2, stride: 2, padding: 0)),
            ("conv", nn.Conv2d(inChannels, outChannels, 1, stride: 1, padding: 0L, bias: false)));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var residual = downsample.call(input);
        return (residual + conv_b.call(conv_a.call(input))).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// One NB201 cell (<c>InferCell</c>): node 0 is the input, node j = Σ_{i&lt;j} op_{j←i}(node i), the output is
/// node 3. Every edge gets its module, <c>none</c> edges included, as in the benchmark's networks.
/// </summary>
public sealed class Nb201Cell : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<nn.Module<Tensor, Tensor>> edges;

    public Nb201Cell(Nb201Genotype genotype, long channels, bool affine, bool trackRunningStats) : base(nameof(Nb201Cell))
    {
        ArgumentNullException.ThrowIfNull(genotype);
        Genotype = genotype;
        edges = new ModuleList<nn.Module<Tensor, Tensor>>();
        foreach (var op in genotype.Operations)
            edges.Add(Operation(op, channels, affine, trackRunningStats));
        RegisterComponents();
    }

    public Nb201Genotype Genotype { get; }

    /// <summary>The module on each edge, in the order of <see cref="Nb201Genotype.Edges"/>.</summary>
    public IReadOnlyList<nn.Module<Tensor, Tensor>> EdgeModules => [.. edges];

    public override Tensor forward(Tensor input) => Nodes(input, (e, from, sum) =>
    {
        var y = edges[e].call(from);
        return sum is null ? y : sum + y;
    });

    /// <summary>
    /// Node 0 is <paramref name="input"/>, node j = Σ_{i&lt;j} (edge j←i)(node i), the result node 3. <paramref name="addEdge"/>
    /// adds edge e's output on its source node to the running sum of its target node (null before the first edge), so a
    /// mixed cell can add each operation in turn: the sums are formed in one order for every kind of cell.
    /// </summary>
    public static Tensor Nodes(Tensor input, Func<int, Tensor, Tensor?, Tensor> addEdge)
    {
        ArgumentNullException.ThrowIfNull(addEdge);
        using var scope = torch.NewDisposeScope();
        var nodes = new Tensor[Nb201Genotype.NodeCount];
        nodes[0] = input;
        for (int to = 1; to < Nb201Genotype.NodeCount; to++)
        {
            Tensor? sum = null;
            for (int from = 0; from < to; from++)
                sum = addEdge(Nb201Genotype.EdgeIndex(to, from), nodes[from], sum);
            nodes[to] = sum!;
        }
        return nodes[^1].MoveToOuterDisposeScope();
    }

    /// <summary>Every operation on every edge, flat and edge-major (edges[e·|O| + o], in <see cref="Nb201Operations.All"/> order): the
    /// edges of the supernets' cells. (A ModuleList of ModuleLists was missed by Module.to(dtype).)</summary>
    public static ModuleList<nn.Module<Tensor, Tensor>> EveryOperation(long channels, bool affine, bool trackRunningStats)
    {
        var edges = new ModuleList<nn.Module<Tensor, Tensor>>();
        for (int e = 0; e < Nb201Genotype.EdgeCount; e++)
            foreach (var op in Nb201Operations.All) edges.Add(Operation(op, channels, affine, trackRunningStats));
        return edges;
    }

    /// <summary>The module of one operation at stride 1 with equal input and output channels (OPS in cell_operations.py).</summary>
    public static nn.Module<Tensor, Tensor> Operation(Nb201Operation op, long channels, bool affine, bool trackRunningStats) => op switch
    {
        Nb201Operation.None => new ZeroOperation(),
        Nb201Operation.SkipConnect => nn.Identity(),
        Nb201Operation.NorConv1x1 => new ReluConvBn(channels, channels, 1, 1, 0, affine, trackRunningStats),
        Nb201Operation.NorConv3x3 => new ReluConvBn(channels, channels, 3, 1, 1, affine, trackRunningStats),
        Nb201Operation.AvgPool3x3 => nn.AvgPool2d(3, stride: 1, padding: 1, count_include_pad: false),
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "Not an NB201 operation."),
    };
}
