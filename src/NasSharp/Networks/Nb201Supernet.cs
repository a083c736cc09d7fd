using NasSharp.Spaces;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Networks;

/// <summary>
/// NAS-Bench-201's search network (AutoDL-Projects' TinyNetworkDarts/GDAS): the <see cref="Nb201Network"/> skeleton whose
/// every cell edge computes Σ_o w_{e,o} o(x) over the five NB201 operations with one shared [6, 5] weight matrix (all cells
/// share one architecture, as in the benchmark). Batch norms inside the cells are non-affine and use batch statistics
/// (the search cells of the benchmark's code), so no operation is favoured by an initial affine scale. Its cells are
/// derived by <see cref="Nb201Genotype.Derive"/>.
/// </summary>
public sealed class Nb201Supernet : RelaxedSupernet
{
    /// <summary>The one group of logits: 6 edges × the 5 operations in <see cref="Nb201Operation"/> order.</summary>
    public static ArchitectureGroup CellGroup { get; } =
        new("cell", Nb201Genotype.EdgeCount, Nb201Operations.All.Select(o => o.Token()).ToArray());

    private readonly Nb201Network network;
    private Tensor? weights;

    public Nb201Supernet(int inputChannels, int classes, Nb201NetworkOptions? options = null, Device? device = null, ScalarType dtype = ScalarType.Float32)
        : base(nameof(Nb201Supernet))
    {
        options ??= new Nb201NetworkOptions { Affine = false, TrackRunningStats = false };
        network = new Nb201Network(inputChannels, classes, options,
            (o, channels) => new MixedCell(() => weights, channels, o.Affine, o.TrackRunningStats), device, dtype);
        Options = options;
        RegisterComponents();
    }

    public Nb201NetworkOptions Options { get; }

    public override IReadOnlyList<ArchitectureGroup> Groups => [CellGroup];

    public override void SetMixingWeights(IReadOnlyList<Tensor> weights)
    {
        CheckWeights(weights);
        this.weights = weights[0];
    }

    public override Tensor forward(Tensor input)
    {
        if (weights is null) throw new InvalidOperationException("Set the mixing weights (SetMixingWeights) before running the supernet.");
        return network.call(input);
    }

    /// <summary>A cell whose edges mix all five operations with the supernet's current weights.</summary>
    private sealed class MixedCell : nn.Module<Tensor, Tensor>
    {
        // A delegate, not the owner itself: a Module field would be registered as a submodule (a cycle).
        private readonly Func<Tensor?> weights;
        // Flat, edge-major: edges[e·|O| + o] (Nb201Cell.EveryOperation).
        private readonly ModuleList<nn.Module<Tensor, Tensor>> edges;

        public MixedCell(Func<Tensor?> weights, long channels, bool affine, bool trackRunningStats) : base(nameof(MixedCell))
        {
            this.weights = weights;
            edges = Nb201Cell.EveryOperation(channels, affine, trackRunningStats);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            var w = weights()!;
            return Nb201Cell.Nodes(input, (e, from, sum) =>
            {
                for (int o = 0; o < Nb201Operations.All.Count; o++)
                {
                    // The zero operation contributes nothing whatever its weight; skipping it saves a pass.
                    if ((Nb201Operation)o == Nb201Operation.None) continue;
                    var y = edges[e * Nb201Operations.All.Count + o].call(from) * w[e, o];
                    sum = sum is null ? y : sum + y;
                }
                return sum!;
            });
        }
    }
}
