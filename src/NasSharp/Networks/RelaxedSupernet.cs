using static TorchSharp.torch;

namespace NasSharp.Networks;

/// <summary>One group of architecture parameters: a cell type whose edges each mix the same candidate operations.</summary>
/// <param name="Name">e.g. "cell" (NB201), "normal" and "reduce" (DARTS).</param>
/// <param name="Operations">Operation names in column order.</param>
public sealed record ArchitectureGroup(string Name, int Edges, IReadOnlyList<string> Operations);

/// <summary>
/// A weight-sharing supernet whose every edge outputs Σ_o w_{e,o} · o(x), the weights w set from outside (e.g. a
/// Gumbel-softmax sample of logits α, as DARTS/GDAS/NASI relax a cell space). The weights may require grad, so that
/// ∂(anything computed from the output)/∂α flows back through them. Its space's <see cref="Spaces.IRelaxation"/> builds it and
/// turns logits back into a genotype.
/// </summary>
public abstract class RelaxedSupernet(string name) : nn.Module<Tensor, Tensor>(name)
{
    /// <summary>
    /// Squared gradient factors by parameter name when the supernet is in the NTK parameterisation
    /// (<see cref="UseNtkParameterization"/>); null in the standard one.
    /// </summary>
    public IReadOnlyDictionary<string, double>? GradientFactors { get; private set; }

    /// <summary>Redraws the supernet's weights in the NTK parameterisation (<see cref="NtkReparameterization"/>).</summary>
    public void UseNtkParameterization(double sigmaW = 1.0, double sigmaB = 0.1) =>
        GradientFactors = NtkReparameterization.Apply(this, sigmaW, sigmaB);

    /// <summary>The parameter groups, in the order <see cref="SetMixingWeights"/> expects them.</summary>
    public abstract IReadOnlyList<ArchitectureGroup> Groups { get; }

    /// <summary>Mixing weights for the following forward passes: one [edges, operations] tensor per group.</summary>
    public abstract void SetMixingWeights(IReadOnlyList<Tensor> weights);

    /// <summary>Checks weights against <see cref="Groups"/>; for implementations.</summary>
    protected void CheckWeights(IReadOnlyList<Tensor> weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.Count != Groups.Count)
            throw new ArgumentException($"Expected {Groups.Count} groups of mixing weights ({string.Join(", ", Groups.Select(g => g.Name))}), got {weights.Count}.", nameof(weights));
        for (int i = 0; i < weights.Count; i++)
        {
            var g = Groups[i];
            if (weights[i].dim() != 2 || weights[i].shape[0] != g.Edges || weights[i].shape[1] != g.Operations.Count)
                throw new ArgumentException($"Mixing weights of '{g.Name}' must be [{g.Edges}, {g.Operations.Count}], got [{string.Join(", ", weights[i].shape)}].", nameof(weights));
        }
    }
}

/// <summary>A relaxed supernet with one group of architecture parameters (a relaxed mlp's activations, the planted student's).</summary>
public abstract class SingleGroupSupernet(string name, ArchitectureGroup group) : RelaxedSupernet(name)
{
    private Tensor? weights;

    public ArchitectureGroup Group { get; } = group;
    public override IReadOnlyList<ArchitectureGroup> Groups => [Group];

    public override void SetMixingWeights(IReadOnlyList<Tensor> weights)
    {
        CheckWeights(weights);
        this.weights = weights[0];
    }

    /// <summary>The [edges, operations] weights last set.</summary>
    protected Tensor MixingWeights => weights ?? throw new InvalidOperationException("Set the mixing weights (SetMixingWeights) before running the supernet.");
}
