using static TorchSharp.torch;

namespace NasSharp.Proxies;

/// <summary>
/// <c>fisher</c> (Theis et al. 2018, Eq. 4; as a NAS score by Turner et al. ICLR 2020 and Abdelfattah et al. 2021):
/// for every Conv2d/Linear output a with channels c, Δ_c = 1/(2N) Σ_n (Σ_spatial a_n ⊙ ∂L_n/∂a_n)², summed over
/// channels and layers; L_n is the cross-entropy of example n, BN in train mode. Larger = predicted better.
/// </summary>
/// <remarks>
/// Per-example gradients are those of the summed loss, N·∂L̄/∂a with L̄ the batch mean. The reference code
/// (zero-cost-nas <c>fisher.py</c>) uses ∂L̄/∂a, which makes every score N² times smaller: ranks at a fixed batch
/// size are the same. A layer called twice contributes each call.
/// </remarks>
public sealed class FisherProxy : IProxy
{
    public string Name => "fisher";

    public ProxyRequirements Requirements { get; } =
        new(NeedsLabels: true, NeedsData: true, BatchNormMode.Train, Shares: SharedComputation.ActivationGradients);

    public ProxyScore Score(ProxyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var terms = context.ActivationGradients();
        if (terms.Count == 0)
            return NetworkLayers.WeightLayers(context.Network).Count == 0
                ? ProxyScore.NotApplicable("the network has no Conv2d or Linear layer")
                : ProxyScore.NotApplicable("no Conv2d/Linear layer was seen running: the network invokes them with forward(), which skips TorchSharp's hooks; use call()");

        using var scope = NewDisposeScope();
        int n = context.BatchSize;
        double sum = 0;
        string? reason = null;
        foreach (var t in terms)
        {
            reason ??= ProxyContext.NonFiniteEntries($"a ⊙ ∂L/∂a of '{t.Layer}'", t.Terms);
            sum += (t.Terms * n).square().sum().item<double>() / (2.0 * n);
        }
        return ProxyScore.From(sum, () => context.LossGradients().NonFiniteReason ?? reason ?? $"Σ Δ_c is {sum}");
    }
}
