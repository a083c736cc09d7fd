using NasSharp.Data;
using NasSharp.Experiments;
using NasSharp.Networks;
using NasSharp.Proxies;
using NasSharp.Spaces;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Search.Nasi;

/// <summary>How <c>nas bench nasi-operations</c> runs: the batch b, how many supernets (seeds <see cref="Seed"/>, +1, …), the parameterisation.</summary>
public sealed record TraceNormAnatomySettings
{
    public int BatchSize { get; init; } = 64;
    public int Seeds { get; init; } = 2;
    public long Seed { get; init; } = 1;
    public Parameterization Parameterization { get; init; } = Parameterization.Standard;

    public void Validate()
    {
        if (BatchSize < 2) throw new SettingException($"--batch {BatchSize}: the batch needs at least 2 samples.");
        if (Seeds < 1) throw new SettingException($"--seeds {Seeds}: at least one supernet.");
    }
}

/// <summary>
/// One operation of a group: ∂T/∂α_o at α = 0 (uniform mixing weights), the mean over the group's edges of the
/// derivative with respect to that operation's logit (through the softmax), which is the direction NASI's first steps take
/// (Shu et al. 2022, Eq. 14 below ν); and the vertex where every edge of the group is that operation alone (the other
/// groups uniform): its trace norm over the uniform one, its logits' mean square, and the share of its trace norm that
/// comes from the classifier (the network's last Linear layer; null when it has none).
/// </summary>
public sealed record OperationEffect(string Operation, double AlphaGradient, double VertexTraceRatio, double VertexLogitMeanSquare, double? VertexClassifierShare);

public sealed record GroupAnatomy(string Group, int Edges, IReadOnlyList<OperationEffect> Operations);

/// <summary>One supernet (its seed): T at uniform mixing weights, with its logits' mean square and classifier share, and every group's operations.</summary>
public sealed record SupernetAnatomy(long Seed, double UniformTraceNorm, double UniformLogitMeanSquare, double? UniformClassifierShare, IReadOnlyList<GroupAnatomy> Groups);

public sealed record TraceNormAnatomyOutput(long? RunId, string Space, string Dataset, int Batch, string Parameterization, IReadOnlyList<SupernetAnatomy> Supernets, double Seconds);

public sealed record TraceNormAnatomyConfig(SpaceSpec Space, DataSpec Data, TraceNormAnatomySettings Settings);

/// <summary>
/// Which operations NASI's objective, the trace norm T = ‖b⁻¹ Σ_x ∇_θ L_x‖² of a relaxed supernet in training mode
/// (<see cref="TraceNorm.Approximation"/>), pulls the mixing weights towards, and why: the gradient of T with respect to
/// each operation's logits at the centre of the simplex, T at each operation's vertex, and how large the logits and the
/// classifier's part of T are there. A supernet whose T grows with the size of the signal that reaches the classifier
/// rewards the operations that keep the signal large, whatever they learn.
/// </summary>
public sealed class TraceNormAnatomy(ISearchSpace space, ExperimentData data, TraceNormAnatomySettings settings) : IExperiment<TraceNormAnatomyOutput>
{
    public ExperimentKind Kind => ExperimentKind.TraceNormAnatomy;
    public object Config { get; } = new TraceNormAnatomyConfig(SpaceSpec.Of(space), data.Spec, settings);
    public long Seed => settings.Seed;

    public void Validate()
    {
        settings.Validate();
        if (space.Relaxation is null) throw new SettingException($"--space {space.SpaceName}: it has no relaxed supernet, so NASI cannot search it.");
        // The NTK parameterisation here is the supernet's (RelaxedSupernet.UseNtkParameterization redraws any Conv2d and
        // Linear layer), as in the nasi strategy, not the discrete networks' (ISearchSpace.Parameterizations).
    }

    public TraceNormAnatomyOutput Run(ExperimentContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Validate();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var batches = data.Batches(context.Device);
        var supernets = new List<SupernetAnatomy>();
        for (int i = 0; i < settings.Seeds; i++)
        {
            long seed = settings.Seed + i;
            using var scope = NewDisposeScope();
            using var supernet = space.Relaxation!.BuildSupernet(data.SampleShape, data.Classes, Seeds.Derive(seed, "nasi-supernet"), context.Device);
            if (settings.Parameterization == Parameterization.Ntk) supernet.UseNtkParameterization();
            supernet.train();
            var (x, y) = batches.Step(0, settings.BatchSize, seed);
            var result = Measure(supernet, x, y, (done, total) => context.Report($"supernet {i + 1}/{settings.Seeds}", done, total, null));
            var anatomy = result with { Seed = seed };
            context.Journal.Record($"supernet/{seed}", anatomy);
            supernets.Add(anatomy);
        }
        return new TraceNormAnatomyOutput(context.RunId, space.SpaceName, data.Name, settings.BatchSize, settings.Parameterization.ToString().ToLowerInvariant(),
            supernets, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The anatomy of one supernet on one batch (its <see cref="SupernetAnatomy.Seed"/> is 0: the caller's to set).</summary>
    public static SupernetAnatomy Measure(RelaxedSupernet supernet, Tensor x, Tensor y, Action<int, int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(supernet);
        var groups = supernet.Groups;
        var dtype = supernet.parameters().First().dtype;
        var device = supernet.parameters().First().device;
        Tensor Uniform(ArchitectureGroup g) => full(new long[] { g.Edges, g.Operations.Count }, 1.0 / g.Operations.Count, dtype: dtype, device: device);
        var factors = supernet.GradientFactors;
        var (parameters, weightFactors) = TraceNorm.Trainable(supernet, factors);
        var classifier = NetworkLayers.LastLinear(supernet);
        var classifierHandles = classifier?.parameters().Select(p => p.Handle).ToHashSet() ?? [];
        int total = 1 + groups.Sum(g => g.Operations.Count), done = 0;

        // T (a float64 scalar tensor), the logits' mean square and the classifier's share of T at fixed mixing weights; with
        // createGraph, T is differentiable in the mixing weights (a double backward). The caller's dispose scope owns the tensors.
        (Tensor Trace, double LogitMeanSquare, double? ClassifierShare) At(IReadOnlyList<Tensor> weights, bool createGraph = false)
        {
            using var grad = enable_grad();
            supernet.SetMixingWeights(weights);
            var logits = supernet.call(x);
            var loss = nn.functional.cross_entropy(logits, y);
            // retain_graph with create_graph: TorchSharp frees the graph otherwise.
            var grads = autograd.grad([loss], parameters, retain_graph: createGraph, create_graph: createGraph, allow_unused: true);
            Tensor trace = tensor(0.0, dtype: ScalarType.Float64, device: device), head = tensor(0.0, dtype: ScalarType.Float64, device: device);
            for (int k = 0; k < parameters.Length; k++)
            {
                if (grads[k].IsInvalid) continue;
                var part = grads[k].to_type(ScalarType.Float64).pow(2).sum() * weightFactors[k];
                trace = trace + part;
                if (classifierHandles.Contains(parameters[k].Handle)) head = head + part;
            }
            progress?.Invoke(++done, total);
            return (trace, logits.detach().to_type(ScalarType.Float64).pow(2).mean().item<double>(),
                classifier is null ? null : head.item<double>() / trace.item<double>());
        }

        // T at uniform w and ∂T/∂w there from the same pass, then through the softmax:
        // ∂T/∂α_{e,o} = w_o (∂T/∂w_{e,o} − Σ_o' w_o' ∂T/∂w_{e,o'}).
        double[][] alphaGradients;
        (double Trace, double LogitMeanSquare, double? ClassifierShare) uniform;
        using (var scope = NewDisposeScope())
        {
            var weights = groups.Select(g => Uniform(g).requires_grad_(true)).ToArray();
            var at = At(weights, createGraph: true);
            uniform = (at.Trace.item<double>(), at.LogitMeanSquare, at.ClassifierShare);
            var dw = autograd.grad([at.Trace], weights, allow_unused: true);
            alphaGradients = [.. groups.Select((g, k) =>
            {
                if (dw[k].IsInvalid) return new double[g.Operations.Count];
                var w = dw[k].to_type(ScalarType.Float64);
                var perEdge = (w - w.mean([1], keepdim: true)) / g.Operations.Count;
                return perEdge.mean([0]).data<double>().ToArray();
            })];
        }

        var result = new List<GroupAnatomy>();
        for (int k = 0; k < groups.Count; k++)
        {
            var g = groups[k];
            var effects = new List<OperationEffect>();
            for (int o = 0; o < g.Operations.Count; o++)
            {
                using var scope = NewDisposeScope();
                var vertex = zeros(new long[] { g.Edges, g.Operations.Count }, dtype: dtype, device: device);
                vertex[TensorIndex.Colon, o] = ones(g.Edges, dtype: dtype, device: device);
                var at = At([.. groups.Select((h, j) => j == k ? vertex : Uniform(h))]);
                effects.Add(new OperationEffect(g.Operations[o], alphaGradients[k][o], at.Trace.item<double>() / uniform.Trace, at.LogitMeanSquare, at.ClassifierShare));
            }
            result.Add(new GroupAnatomy(g.Name, g.Edges, effects));
        }
        return new SupernetAnatomy(0, uniform.Trace, uniform.LogitMeanSquare, uniform.ClassifierShare, result);
    }
}
