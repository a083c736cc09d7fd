using NasSharp.Spaces;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Networks;

/// <summary>
/// NAS-Bench-201's single-path supernet: the <see cref="Nb201Network"/> skeleton whose every cell edge holds the five NB201
/// operations, of which a forward pass runs only the path's (one operation per edge, the same for every cell, as the
/// benchmark's cells are shared). A path's network is the benchmark's network of that genotype with inherited weights:
/// its edges are the same modules (<see cref="Nb201Cell.Operation"/>) and node sums are formed in the same order
/// (<see cref="Nb201Cell.Nodes"/>). Batch norms keep running statistics so that a path is evaluated after recalibration.
/// </summary>
public sealed class Nb201PathSupernet : PathSupernet
{
    private readonly Nb201Network network;
    private int[]? path;

    public Nb201PathSupernet(int inputChannels, int classes, Nb201NetworkOptions options, Device? device = null, ScalarType dtype = ScalarType.Float32)
        : base(nameof(Nb201PathSupernet))
    {
        ArgumentNullException.ThrowIfNull(options);
        network = new Nb201Network(inputChannels, classes, options, (o, channels) => new PathCell(() => path, channels, o.Affine, o.TrackRunningStats), device, dtype);
        Options = options;
        RegisterComponents();
    }

    public Nb201NetworkOptions Options { get; }

    /// <summary>The skeleton (stem, cells and reductions, classifier).</summary>
    public Nb201Network Network => network;

    /// <summary>The path last set (one operation index per edge, in <see cref="Nb201Operations.All"/> order), or null.</summary>
    public IReadOnlyList<int>? Path => path;

    public override void SetPath(IReadOnlyList<int> path)
    {
        CheckPath(path);
        this.path = [.. path];
    }

    /// <summary>Throws unless <paramref name="path"/> has one operation index (in <see cref="Nb201Operations.All"/>) per edge.</summary>
    public static void CheckPath(IReadOnlyList<int> path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Count != Nb201Genotype.EdgeCount || path.Any(p => p < 0 || p >= Nb201Operations.All.Count))
            throw new ArgumentException($"An NB201 path has {Nb201Genotype.EdgeCount} operation indices in 0..{Nb201Operations.All.Count - 1}; got [{string.Join(", ", path)}].", nameof(path));
    }

    public override Tensor forward(Tensor input)
    {
        if (path is null) throw new InvalidOperationException("Set a path (SetPath) before running the supernet.");
        return network.call(input);
    }

    /// <summary>
    /// Copies the weights and batch-norm buffers of the current path into <paramref name="target"/>, the benchmark's network
    /// of the same skeleton for the path's genotype: the stand-alone network that inherits this supernet's weights.
    /// </summary>
    public void CopyPathInto(Nb201Network target)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (path is null) throw new InvalidOperationException("Set a path (SetPath) before copying it.");
        if (target.Genotype is null || !target.Genotype.Operations.Select(o => (int)o).SequenceEqual(path) || target.Options != Options)
            throw new ArgumentException("The target must be the network of the path's genotype with this supernet's skeleton.", nameof(target));
        var source = network.state_dict();
        using var noGrad = no_grad();
        foreach (var (name, tensor) in target.state_dict())
            tensor.copy_(source[SourceName(name)]);
    }

    /// <summary>The supernet's name of a stand-alone network's state entry: cell edge e's module is edge (e·5 + path[e]) here.</summary>
    private string SourceName(string name)
    {
        var parts = name.Split('.');
        // cells.{i}.edges.{e}.… in both; only a cell (not a reduction block) has edges.
        if (parts.Length > 3 && parts[0] == "cells" && parts[2] == "edges")
        {
            int e = int.Parse(parts[3], System.Globalization.CultureInfo.InvariantCulture);
            parts[3] = (e * Nb201Operations.All.Count + path![e]).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return string.Join('.', parts);
    }

    /// <summary>A cell whose edges hold every operation and run the path's.</summary>
    private sealed class PathCell : nn.Module<Tensor, Tensor>
    {
        // A delegate, not the owner itself: a Module field would be registered as a submodule (a cycle).
        private readonly Func<int[]?> path;
        // Flat, edge-major: edges[e·|O| + o], as Nb201Supernet's mixed cells.
        private readonly ModuleList<nn.Module<Tensor, Tensor>> edges;

        public PathCell(Func<int[]?> path, long channels, bool affine, bool trackRunningStats) : base(nameof(PathCell))
        {
            this.path = path;
            edges = Nb201Cell.EveryOperation(channels, affine, trackRunningStats);
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            var p = path()!;
            return Nb201Cell.Nodes(input, (e, from, sum) =>
            {
                var y = edges[e * Nb201Operations.All.Count + p[e]].call(from);
                return sum is null ? y : sum + y;
            });
        }
    }
}
