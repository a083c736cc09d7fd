using static TorchSharp.torch;

namespace NasSharp.Proxies;

/// <summary>
/// <c>ntk_trace</c>: NASI's approximation of the NTK trace norm (Shu et al. ICLR 2022, Eqs. 9–12),
/// ‖Θ̃₀‖_tr = ‖b⁻¹ Σ_{x∈batch} ∇_θ L_x‖² = ‖∇_θ L‖², the squared norm of the gradient of the batch-mean cross-entropy
/// over all trainable parameters (BN in train mode). Larger = predicted better (NASI maximises it, Eq. 8; its
/// upper-bound constraint is a search-time penalty, not part of the score).
/// </summary>
public sealed class NtkTraceProxy : IProxy
{
    public string Name => "ntk_trace";

    public ProxyRequirements Requirements { get; } =
        new(NeedsLabels: true, NeedsData: true, BatchNormMode.Train, Shares: SharedComputation.LossGradients);

    public ProxyScore Score(ProxyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var gradients = context.LossGradients();
        using var scope = NewDisposeScope();
        double sum = 0;
        foreach (var g in gradients.Gradients)
            sum += g.to_type(ScalarType.Float64).square().sum().item<double>();
        return ProxyScore.From(sum, () => gradients.NonFiniteReason ?? $"‖∇θ L‖² is {sum}");
    }
}
