using NasSharp.Spaces;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Networks;

/// <summary>
/// DARTS' search network (<c>Network</c> in <c>model_search.py</c>; Liu et al. ICLR 2019 Eq. 2): the
/// <see cref="DartsNetwork"/> skeleton whose cells each have 14 mixed edges (node k one from each of its k + 2
/// predecessors), edge e computing Σ_o w_{e,o} o(x) over the eight operations, node k the sum of its incoming edges, the
/// cell output the concatenation of the four nodes. Every normal cell mixes with the "normal" [14, 8] weights, every
/// reduction cell with the "reduce" ones. As in the reference, BN inside the cells is non-affine (so no operation is
/// favoured by a learnt scale) and the pooling operations are followed by a non-affine BN. Its genotypes are derived by
/// <see cref="DartsGenotype.Derive"/>.
/// </summary>
public sealed class DartsSupernet : RelaxedSupernet
{
    private static readonly IReadOnlyList<string> OperationNames = [.. DartsPrimitives.All.Select(o => o.Token())];

    /// <summary>"normal" then "reduce", each [14, 8]: edges in <see cref="DartsGenotype.MixedEdges"/> order, operations in <see cref="DartsOperation"/> order.</summary>
    public static IReadOnlyList<ArchitectureGroup> CellGroups { get; } =
        [new("normal", DartsGenotype.MixedEdgeCount, OperationNames), new("reduce", DartsGenotype.MixedEdgeCount, OperationNames)];

    private readonly DartsNetwork network;
    private Tensor? normalWeights;
    private Tensor? reduceWeights;

    /// <summary>The skeleton used when none is given: C = 16 and 5 cells (DARTS searches with 8; fewer is faster).</summary>
    public static DartsNetworkOptions DefaultOptions { get; } = new() { Layers = 5 };

    public DartsSupernet(int inputChannels, int classes, DartsNetworkOptions? options = null, Device? device = null, ScalarType dtype = ScalarType.Float32)
        : base(nameof(DartsSupernet))
    {
        options ??= DefaultOptions;
        network = new DartsNetwork(inputChannels, classes, options,
            layout => new SearchCell(layout.Reduction ? () => reduceWeights : () => normalWeights, layout), device, dtype);
        Options = options;
        RegisterComponents();
    }

    public DartsNetworkOptions Options { get; }

    public override IReadOnlyList<ArchitectureGroup> Groups => CellGroups;

    /// <summary>Weights of the normal cells, then of the reduction cells; kept as given (not detached), so gradients reach them.</summary>
    public override void SetMixingWeights(IReadOnlyList<Tensor> weights)
    {
        CheckWeights(weights);
        normalWeights = weights[0];
        reduceWeights = weights[1];
    }

    public override Tensor forward(Tensor input)
    {
        if (normalWeights is null || reduceWeights is null)
            throw new InvalidOperationException("Set the mixing weights (SetMixingWeights) before running the supernet.");
        return network.call(input);
    }

    /// <summary>One edge of a search cell: all eight operations (<c>MixedOp</c>), mixed by a row of weights.</summary>
    private sealed class MixedOp : nn.Module<Tensor, Tensor, Tensor>
    {
        private readonly ModuleList<nn.Module<Tensor, Tensor>> ops;

        public MixedOp(long channels, long stride) : base(nameof(MixedOp))
        {
            ops = new ModuleList<nn.Module<Tensor, Tensor>>();
            foreach (var op in DartsPrimitives.All)
            {
                var module = DartsOperations.Create(op, channels, stride, affine: false);
                ops.Add(op is DartsOperation.MaxPool3x3 or DartsOperation.AvgPool3x3
                    ? nn.Sequential(("pool", module), ("bn", nn.BatchNorm2d(channels, affine: false)))
                    : module);
            }
            RegisterComponents();
        }

        /// <param name="weights">The edge's row [8].</param>
        public override Tensor forward(Tensor input, Tensor weights)
        {
            using var scope = NewDisposeScope();
            Tensor? sum = null;
            for (int o = 0; o < ops.Count; o++)
            {
                // w·(x·0) is zero whatever w (and so is its gradient): skipping `none` saves a pass.
                if ((DartsOperation)o == DartsOperation.None) continue;
                var y = ops[o].call(input) * weights[o];
                sum = sum is null ? y : sum + y;
            }
            return sum!.MoveToOuterDisposeScope();
        }
    }

    /// <summary>A search cell (<c>Cell</c> in <c>model_search.py</c>): 14 mixed edges, stride 2 on a reduction cell's inputs.</summary>
    private sealed class SearchCell : nn.Module<Tensor, Tensor, Tensor>
    {
        // A delegate, not the owner itself: a Module field would be registered as a submodule (a cycle).
        private readonly Func<Tensor?> weights;
        private readonly nn.Module<Tensor, Tensor> preprocess0;
        private readonly ReluConvBn preprocess1;
        private readonly ModuleList<MixedOp> edges;

        public SearchCell(Func<Tensor?> weights, DartsCellLayout layout) : base(nameof(SearchCell))
        {
            this.weights = weights;
            preprocess0 = layout.ReductionPrev
                ? new FactorizedReduce(layout.PrevPrevChannels, layout.Channels, affine: false)
                : DartsOperations.Preprocess(layout.PrevPrevChannels, layout.Channels, affine: false);
            preprocess1 = DartsOperations.Preprocess(layout.PrevChannels, layout.Channels, affine: false);
            edges = new ModuleList<MixedOp>();
            foreach (var (_, input) in DartsGenotype.MixedEdges)
                edges.Add(new MixedOp(layout.Channels, layout.Reduction && input < 2 ? 2 : 1));
            RegisterComponents();
        }

        public override Tensor forward(Tensor s0, Tensor s1)
        {
            using var scope = NewDisposeScope();
            var w = weights()!;
            var states = new List<Tensor>(2 + DartsGenotype.NodeCount) { preprocess0.call(s0), preprocess1.call(s1) };
            for (int k = 0; k < DartsGenotype.NodeCount; k++)
            {
                Tensor? node = null;
                for (int i = 0; i < k + 2; i++)
                {
                    int e = DartsGenotype.EdgeIndex(k, i);
                    var y = edges[e].call(states[i], w[e]);
                    node = node is null ? y : node + y;
                }
                states.Add(node!);
            }
            return torch.cat(states.GetRange(2, DartsGenotype.NodeCount), 1).MoveToOuterDisposeScope();
        }
    }
}
