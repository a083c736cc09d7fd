using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Proxies;

/// <summary>
/// <c>grasp</c> (Wang et al. ICLR 2020, Eq. 8, as a NAS score by Abdelfattah et al. 2021): Σ_l Σ (−W_l ⊙ (H g)_l), with
/// g = ∂L/∂W and H = ∂²L/∂W² over the Conv2d/Linear weights W, L the mean cross-entropy on the batch (BN in train mode).
/// Hg is the gradient of gᵀ∇_W L with g held fixed. Larger = predicted better (Abdelfattah et al.'s sign: GraSP's
/// saliency S(−θ) = −θ ⊙ Hg summed; they report accuracy correlating positively with it).
/// </summary>
public sealed class GraspProxy : IProxy
{
    public string Name => "grasp";

    public ProxyRequirements Requirements { get; } =
        new(NeedsLabels: true, NeedsData: true, BatchNormMode.Train);

    public ProxyScore Score(ProxyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var model = context.Network;
        var layers = NetworkLayers.WeightLayers(model);
        if (layers.Count == 0) return ProxyScore.NotApplicable("the network has no Conv2d or Linear layer");
        if (context.Labels is null) throw new InvalidOperationException("grasp needs labels (a cross-entropy loss); create the ProxyContext with labels.");

        using var scope = NewDisposeScope();
        using var bn = context.UseBatchNorm(BatchNormMode.Train);
        using var gradMode = enable_grad();
        var weights = layers.Select(l => (Tensor)l.Weight).ToArray();
        var logits = model.call(context.Inputs);
        var loss = nn.functional.cross_entropy(logits, context.Labels);
        // One backward that keeps its graph gives both g (its value, held fixed) and the graph of ∇_W L for Hg: the
        // reference code runs a separate forward and backward for g first. retain_graph with create_graph: TorchSharp
        // does not imply it, and the second grad needs the graph.
        var gradW = autograd.grad(new[] { loss }, weights, retain_graph: true, create_graph: true, allow_unused: true);
        string? gReason = ProxyContext.NonFiniteEntries("the network's output", logits)
            ?? (double.IsFinite(loss.to_type(ScalarType.Float64).item<double>()) ? null : "the cross-entropy loss is not finite");
        Tensor? z = null;
        for (int i = 0; i < weights.Length; i++)
            if (!gradW[i].IsInvalid)
            {
                var g = gradW[i].detach();
                gReason ??= ProxyContext.NonFiniteEntries($"∂L/∂{layers[i].Name}", g);
                var term = (g * gradW[i]).sum();
                z = z is null ? term : z + term;
            }
        if (gReason is not null) return ProxyScore.NonFinite(double.NaN, gReason);
        if (z is null || !z.requires_grad) return ProxyScore.Finite(0); // L does not depend on any weight: Hg = 0.
        var hg = autograd.grad(new[] { z }, weights, allow_unused: true);

        using var noGrad = no_grad();
        double sum = 0;
        string? reason = null;
        for (int i = 0; i < weights.Length; i++)
        {
            if (hg[i].IsInvalid) continue;
            reason ??= ProxyContext.NonFiniteEntries($"(Hg) of '{layers[i].Name}'", hg[i]);
            sum -= (weights[i].to_type(ScalarType.Float64) * hg[i].to_type(ScalarType.Float64)).sum().item<double>();
        }
        return ProxyScore.From(sum, () => reason ?? $"Σ −W ⊙ Hg is {sum}");
    }
}
