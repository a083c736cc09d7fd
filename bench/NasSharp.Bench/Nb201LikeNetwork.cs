using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Bench;

/// <summary>
/// A stand-in for a NAS-Bench-201 network (Dong & Yang 2020), built from standard modules, as a benchmark workload:
/// stem conv3×3-BN, three stages of <c>cells</c> cells separated by residual reduction blocks, BN-ReLU, global pooling,
/// linear classifier. Every cell has the same 4-node DAG; an edge op is ReLU-Conv-BN (3×3 or 1×1), 3×3 average
/// pooling, identity or zero. It is not the project's NB201 builder, only a network of the same shape and cost.
/// </summary>
internal sealed class Nb201LikeNetwork : nn.Module<Tensor, Tensor>
{
    /// <summary>Edge ops of the cell, edges (1←0), (2←0), (2←1), (3←0), (3←1), (3←2).</summary>
    public static readonly string[] BestCell = ["conv3", "conv3", "conv3", "skip", "conv3", "conv3"];

    private readonly Sequential stem;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> cells = new();
    private readonly Sequential lastAct;
    private readonly AdaptiveAvgPool2d pool;
    private readonly Linear classifier;

    public Nb201LikeNetwork(string[] cell, int channels = 16, int cellsPerStage = 5, int classes = 10) : base(nameof(Nb201LikeNetwork))
    {
        stem = nn.Sequential(nn.Conv2d(3, channels, 3, padding: 1, bias: false), nn.BatchNorm2d(channels));
        int c = channels;
        for (int stage = 0; stage < 3; stage++)
        {
            if (stage > 0)
            {
                cells.Add(new ReductionBlock(c, 2 * c));
                c *= 2;
            }
            for (int i = 0; i < cellsPerStage; i++) cells.Add(new Cell(cell, c));
        }
        lastAct = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU());
        pool = nn.AdaptiveAvgPool2d(1);
        classifier = nn.Linear(c, classes);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = stem.call(x);
        foreach (var cell in cells) h = cell.call(h);
        return classifier.call(pool.call(lastAct.call(h)).flatten(1)).MoveToOuterDisposeScope();
    }

    private static Sequential ReluConvBn(int cin, int cout, int kernel, int stride) =>
        nn.Sequential(nn.ReLU(), nn.Conv2d(cin, cout, kernel, stride: stride, padding: kernel / 2, bias: false), nn.BatchNorm2d(cout));

    private sealed class Cell : nn.Module<Tensor, Tensor>
    {
        private static readonly (int To, int From)[] Edges = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)];
        private readonly string[] ops;
        private readonly ModuleList<nn.Module<Tensor, Tensor>> edges = new();

        public Cell(string[] ops, int c) : base(nameof(Cell))
        {
            this.ops = ops;
            foreach (var op in ops)
                edges.Add(op switch
                {
                    "conv3" => ReluConvBn(c, c, 3, 1),
                    "conv1" => ReluConvBn(c, c, 1, 1),
                    "avg" => nn.AvgPool2d(3, stride: 1, padding: 1, count_include_pad: false),
                    "skip" or "none" => nn.Identity(),
                    _ => throw new ArgumentException($"Unknown op '{op}'."),
                });
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var nodes = new Tensor?[4];
            nodes[0] = x;
            for (int e = 0; e < Edges.Length; e++)
            {
                var (to, from) = Edges[e];
                if (ops[e] == "none") continue;
                var y = edges[e].call(nodes[from] ?? zeros_like(x));
                nodes[to] = nodes[to] is null ? y : nodes[to]! + y;
            }
            return (nodes[3] ?? zeros_like(x)).MoveToOuterDisposeScope();
        }
    }

    private sealed class ReductionBlock : nn.Module<Tensor, Tensor>
    {
        private readonly Sequential a, b, shortcut;

        public ReductionBlock(int cin, int cout) : base(nameof(ReductionBlock))
        {
            a = ReluConvBn(cin, cout, 3, 2);
            b = ReluConvBn(cout, cout, 3, 1);
            shortcut = nn.Sequential(nn.AvgPool2d(2, stride: 2), nn.Conv2d(cin, cout, 1, bias: false));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            return (b.call(a.call(x)) + shortcut.call(x)).MoveToOuterDisposeScope();
        }
    }
}
