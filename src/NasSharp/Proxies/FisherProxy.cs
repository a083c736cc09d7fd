using static TorchSharp.torch;

namespace NasSharp.Proxies;

/// <summary>
/// <c>fisher</c> (Theis et al. 2018, Eq. 4; as a NAS score by Turner et al. ICLR 2020 and Abdelfattah et al. 2021):
/// for every Conv2d/Linear output a with channels c, Δ_c = 1/(2N) Σ_n (Σ_spatial a_n ⊙ ∂L_n/∂a_n)², summed over
/// channels, each layer's sum weighted by the layer's fan-in (C_in/groups·k_h·k_w, or in_features), then over layers;
/// L_n is the cross-entropy of example n, BN in train mode. Larger = predicted better.
/// </summary>
/// <remarks>
/// The fan-in weight is how Abdelfattah et al.'s code (zero-cost-nas <c>fisher.py</c> and its sum over per-weight
/// arrays) totals the score: it copies each channel's Δ_c to every weight of that channel and sums the weights. Without
/// it (<c>fisher_channels</c>, Theis et al.'s per-channel sum) NAS-Bench-201 cells rank 0.15 lower in Spearman ρ.
/// Per-example gradients are those of the summed loss, N·∂L̄/∂a with L̄ the batch mean. The reference code
/// uses ∂L̄/∂a, which makes every score N² times smaller: ranks at a fixed batch size are the same. A layer called
/// twice contributes each call.
/// </remarks>
public sealed class FisherProxy : IProxy
{
    /// <param name="weightedByFanIn">Weight each layer's Σ_c Δ_c by its fan-in, as the reference code's sum does
    /// (<c>fisher</c>); false gives the plain per-channel sum (<c>fisher_channels</c>).</param>
    public FisherProxy(bool weightedByFanIn = true)
    {
        WeightedByFanIn = weightedByFanIn;
        Name = weightedByFanIn ? "fisher" : "fisher_channels";
    }

    public bool WeightedByFanIn { get; }

    public string Name { get; }

    public ProxyRequirements Requirements { get; } =
        new(NeedsLabels: true, NeedsData: true, BatchNormMode.Train, Shares: SharedComputation.LossGradients,
            Observes: FisherMasks.Probe);

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
        var fanIn = WeightedByFanIn
            ? NetworkLayers.WeightLayers(context.Network).ToDictionary(l => l.Name, l => (double)l.Weight.shape.Skip(1).Aggregate(1L, (a, b) => a * b))
            : null;
        double sum = 0;
        string? reason = null;
        foreach (var t in terms)
        {
            reason ??= ProxyContext.NonFiniteEntries($"a ⊙ ∂L/∂a of '{t.Layer}'", t.Terms);
            sum += (fanIn is null ? 1.0 : fanIn[t.Layer]) * (t.Terms * n).square().sum().item<double>() / (2.0 * n);
        }
        return ProxyScore.From(sum, () => context.LossGradients().NonFiniteReason ?? reason ?? $"Σ Δ_c is {sum}");
    }
}

/// <summary>
/// For one call of a weight layer with output a (shape [N, C, ...]): t[n, c] = Σ_spatial a[n, c, …] · ∂L/∂a[n, c, …]
/// in float64, L the mean cross-entropy (train-mode BN). Fisher's per-channel terms (Theis et al. 2018).
/// </summary>
public sealed record ActivationGradientTerms(string Layer, Tensor Terms);

/// <summary>Fisher's per-channel terms, measured on the <see cref="ProxyContext"/>'s shared train-mode pass.</summary>
public static class FisherMasks
{
    internal static readonly TrainPassProbe<IReadOnlyList<ActivationGradientTerms>> Probe =
        new("ActivationGradients", needsLoss: true, (context, network) => new Observer(context, network));

    /// <summary>Fisher's per-channel terms of every weight-layer call (train-mode BN, mean cross-entropy); needs labels.</summary>
    public static IReadOnlyList<ActivationGradientTerms> ActivationGradients(this ProxyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Observe(Probe);
    }

    /// <summary>
    /// Multiplies each weight layer's output a by (1 + m) with a zero mask m of shape [N, C, 1, …]: the output is unchanged
    /// and ∂L/∂m[n, c] = Σ_spatial a ⊙ ∂L/∂a, Fisher's term (Theis et al. 2018, arXiv:1801.05787, derive it from such a
    /// mask). The masks are leaves owned here, so it does not matter which tensors the network disposes.
    /// </summary>
    private sealed class Observer : TrainPassObserver<IReadOnlyList<ActivationGradientTerms>>
    {
        private readonly ProxyContext context;
        private readonly List<(string Name, Tensor Mask)> masks = [];
        private readonly HookSet hooks;

        public Observer(ProxyContext context, nn.Module<Tensor, Tensor> network)
        {
            this.context = context;
            var layers = NetworkLayers.WeightLayers(network);
            hooks = NetworkLayers.Observe(layers.Select(l => (l.Name, l.Module)), (name, _, output) =>
            {
                var shape = output.shape.Select((size, d) => d < 2 ? size : 1L).ToArray();
                var mask = zeros(shape, dtype: output.dtype, device: output.device).requires_grad_(true).DetachFromDisposeScope();
                masks.Add((name, mask));
                return output * (mask + 1);
            });
        }

        public override IReadOnlyList<Tensor> GradientTargets => masks.Select(m => m.Mask).ToArray();

        public override IReadOnlyList<ActivationGradientTerms> Complete(IReadOnlyList<Tensor> gradients)
        {
            var terms = new List<ActivationGradientTerms>(masks.Count);
            for (int k = 0; k < masks.Count; k++)
            {
                var mask = masks[k].Mask;
                var g = gradients[k];
                var t = (g.IsInvalid ? zeros_like(mask) : g.detach()).reshape(mask.shape[0], mask.shape[1]);
                terms.Add(new ActivationGradientTerms(masks[k].Name, context.Own(t.to_type(ScalarType.Float64))));
            }
            return terms;
        }

        public override void Dispose()
        {
            hooks.Dispose();
            foreach (var (_, mask) in masks) mask.Dispose();
        }
    }
}
