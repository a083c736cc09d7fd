using NasSharp.Spaces;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Networks;

/// <summary>
/// NAS-Bench-201's search network (AutoDL-Projects' TinyNetworkDarts/GDAS macro skeleton): the stem, three stages of
/// <see cref="Nb201NetworkOptions.CellsPerStage"/> cells with residual reduction blocks between them, global pooling and
/// a linear classifier, where every edge of every cell computes Σ_o w_{e,o} o(x) over the five NB201 operations with one
/// shared [6, 5] weight matrix (all cells share one architecture, as in the benchmark). Batch norms inside the cells are
/// non-affine and use batch statistics (the search cells of the benchmark's code), so no operation is favoured by an
/// initial affine scale.
/// </summary>
public sealed class Nb201Supernet : RelaxedSupernet
{
    private static readonly ArchitectureGroup cellGroup =
        new("cell", Nb201Genotype.EdgeCount, Nb201Operations.All.Select(o => o.Token()).ToArray());

    private readonly Sequential stem;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> cells;
    private readonly Sequential lastact;
    private readonly AdaptiveAvgPool2d global_pooling;
    private readonly Linear classifier;
    private Tensor? weights;

    public Nb201Supernet(int inputChannels, int classes, Nb201NetworkOptions? options = null, Device? device = null, ScalarType dtype = ScalarType.Float32)
        : base(nameof(Nb201Supernet))
    {
        if (inputChannels < 1) throw new ArgumentOutOfRangeException(nameof(inputChannels), inputChannels, "Input channels must be positive.");
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "Number of classes must be positive.");
        options ??= new Nb201NetworkOptions { Affine = false, TrackRunningStats = false };
        options.Validate();
        Options = options;
        int c = options.Channels;
        stem = nn.Sequential(("conv", nn.Conv2d(inputChannels, c, 3, stride: 1, padding: 1, bias: false)), ("bn", nn.BatchNorm2d(c)));
        cells = new ModuleList<nn.Module<Tensor, Tensor>>();
        foreach (var block in options.Blocks())
            cells.Add(block.IsReduction
                ? new Nb201ReductionBlock(block.InChannels, block.OutChannels, options.Affine, options.TrackRunningStats)
                : new MixedCell(() => weights, block.OutChannels, options.Affine, options.TrackRunningStats));
        lastact = nn.Sequential(("bn", nn.BatchNorm2d(options.FinalChannels)), ("relu", nn.ReLU()));
        global_pooling = nn.AdaptiveAvgPool2d(1);
        classifier = nn.Linear(options.FinalChannels, classes);
        RegisterComponents();
        ConvolutionBackend.Protect(this);
        if (dtype != ScalarType.Float32) this.to(dtype);
        if (device is not null) this.to(device);
    }

    public Nb201NetworkOptions Options { get; }

    public override IReadOnlyList<ArchitectureGroup> Groups => [cellGroup];

    public override void SetMixingWeights(IReadOnlyList<Tensor> weights)
    {
        CheckWeights(weights);
        this.weights = weights[0];
    }

    /// <summary>
    /// Per edge, the operation of the largest logit among those other than <c>none</c> (the lowest index on ties), as
    /// DARTS derives its cells and as <see cref="DartsSupernet"/> does. Under Gumbel-softmax weights w = softmax((α + g)/τ),
    /// none's output is zero, so its component of ∇_α R is −(w_none/τ) Σ_o w_o ∂R/∂w_o: the derivative of R along scaling
    /// the whole edge (tested). It says how large the edge should be, not which operation it should be. The plain argmax
    /// with none is <see cref="Derive(double[,], bool)"/> with excludeNone false.
    /// </summary>
    public override IGenotype Derive(IReadOnlyList<double[,]> logits)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (logits.Count != 1) throw new ArgumentException($"NB201 logits are one [{Nb201Genotype.EdgeCount}, {Nb201Operations.All.Count}] array.", nameof(logits));
        return Derive(logits[0], excludeNone: true);
    }

    /// <summary>
    /// Per edge, the operation of the largest logit (the lowest index on ties); with <paramref name="excludeNone"/>, the
    /// largest among the operations other than <c>none</c>. DARTS derives its cells that way (Liu et al. 2019, Sec. 2.4):
    /// with batch norm after the cell, raising the weight of the zero operation only rescales the node, so its logit says
    /// how large the edge should be, not which operation it should be.
    /// </summary>
    public static Nb201Genotype Derive(double[,] logits, bool excludeNone)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (logits.GetLength(0) != Nb201Genotype.EdgeCount || logits.GetLength(1) != Nb201Operations.All.Count)
            throw new ArgumentException($"NB201 logits are one [{Nb201Genotype.EdgeCount}, {Nb201Operations.All.Count}] array.", nameof(logits));
        int first = excludeNone ? (int)Nb201Operation.None + 1 : 0;
        var ops = new Nb201Operation[Nb201Genotype.EdgeCount];
        for (int e = 0; e < ops.Length; e++)
        {
            int best = first;
            for (int o = first + 1; o < logits.GetLength(1); o++)
                if (logits[e, o] > logits[e, best]) best = o;
            ops[e] = (Nb201Operation)best;
        }
        return new Nb201Genotype(ops);
    }

    public override Tensor forward(Tensor input)
    {
        if (weights is null) throw new InvalidOperationException("Set the mixing weights (SetMixingWeights) before running the supernet.");
        using var scope = NewDisposeScope();
        var x = stem.call(input);
        foreach (var cell in cells) x = cell.call(x);
        x = global_pooling.call(lastact.call(x)).flatten(1);
        return classifier.call(x).MoveToOuterDisposeScope();
    }

    /// <summary>A cell whose edges mix all five operations with the supernet's current weights.</summary>
    private sealed class MixedCell : nn.Module<Tensor, Tensor>
    {
        // A delegate, not the owner itself: a Module field would be registered as a submodule (a cycle).
        private readonly Func<Tensor?> weights;
        // Flat, edge-major: edges[e·|O| + o]. (A ModuleList of ModuleLists was missed by Module.to(dtype).)
        private readonly ModuleList<nn.Module<Tensor, Tensor>> edges;

        public MixedCell(Func<Tensor?> weights, long channels, bool affine, bool trackRunningStats) : base(nameof(MixedCell))
        {
            this.weights = weights;
            edges = new ModuleList<nn.Module<Tensor, Tensor>>();
            for (int e = 0; e < Nb201Genotype.EdgeCount; e++)
                foreach (var op in Nb201Operations.All) edges.Add(Nb201Cell.Operation(op, channels, affine, trackRunningStats));
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = NewDisposeScope();
            var w = weights()!;
            var nodes = new Tensor[Nb201Genotype.NodeCount];
            nodes[0] = input;
            for (int to = 1; to < Nb201Genotype.NodeCount; to++)
            {
                Tensor? sum = null;
                for (int from = 0; from < to; from++)
                {
                    int e = Nb201Genotype.EdgeIndex(to, from);
                    for (int o = 0; o < Nb201Operations.All.Count; o++)
                    {
                        // The zero operation contributes nothing whatever its weight; skipping it saves a pass.
                        if ((Nb201Operation)o == Nb201Operation.None) continue;
                        var y = edges[e * Nb201Operations.All.Count + o].call(nodes[from]) * w[e, o];
                        sum = sum is null ? y : sum + y;
                    }
                }
                nodes[to] = sum!;
            }
            return nodes[^1].MoveToOuterDisposeScope();
        }
    }
}
