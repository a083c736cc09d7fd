using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Proxies;

/// <summary>
/// <c>synflow</c> (Tanaka et al. NeurIPS 2020, Eqs. 1–2; as a NAS score by Abdelfattah et al. 2021): on a copy of the
/// network with every parameter replaced by its absolute value, in float64 and BN in eval mode, feed one all-ones input
/// and take R = Σ f(1) (= 1ᵀ(Π_l |W_l|)1 for a linear chain); the score is Σ_l Σ W_l ⊙ ∂R/∂W_l over Conv2d/Linear weights.
/// Data-free. Larger = predicted better.
/// </summary>
/// <remarks>
/// The reference code removes BatchNorm (replaces it by the identity); eval-mode BN at initialisation is
/// x/√(1+ε) with |γ| = 1, |β| = 0, a factor (1+10⁻⁵)^(−1/2) per BN. The reference sums |W ⊙ ∂R/∂W|; with positive
/// weights and inputs every term is already ≥ 0 for monotone activations, so the paper's signed sum is used.
/// </remarks>
public sealed class SynflowProxy : IProxy
{
    public string Name => "synflow";

    public ProxyRequirements Requirements { get; } =
        new(NeedsLabels: false, NeedsData: false, BatchNormMode.Eval, NeedsCopyOfNetwork: true);

    public ProxyScore Score(ProxyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var copy = context.BuildCopy();
        copy.to(ScalarType.Float64);
        copy.eval();
        var layers = NetworkLayers.WeightLayers(copy);
        if (layers.Count == 0) return ProxyScore.NotApplicable("the network has no Conv2d or Linear layer");

        using var scope = NewDisposeScope();
        using (no_grad())
            foreach (var p in copy.parameters()) p.abs_();
        using var gradMode = enable_grad();
        var ones = torch.ones(new long[] { 1 }.Concat(context.SampleShape).ToArray(), dtype: ScalarType.Float64, device: context.Device);
        var output = copy.call(ones);
        var r = output.sum();
        double rValue = r.item<double>();
        var weights = layers.Select(l => (Tensor)l.Weight).ToArray();
        var grads = autograd.grad(new[] { r }, weights, allow_unused: true);

        using var noGrad = no_grad();
        double sum = 0;
        string? reason = double.IsFinite(rValue) ? null : $"R = Σ f(1) is {rValue}";
        for (int i = 0; i < weights.Length; i++)
        {
            if (grads[i].IsInvalid) continue;
            reason ??= ProxyContext.NonFiniteEntries($"∂R/∂{layers[i].Name}", grads[i]);
            sum += (weights[i] * grads[i]).sum().item<double>();
        }
        return ProxyScore.From(sum, () => reason ?? $"Σ W ⊙ ∂R/∂W is {sum}");
    }
}
