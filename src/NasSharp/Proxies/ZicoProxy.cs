using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Proxies;

/// <summary>
/// <c>zico</c> (Li, Hu, Marculescu &amp; Sun, ICLR 2023, Sec. 3.4): split the batch into B minibatches, take the weight
/// gradient g_b of each minibatch's mean cross-entropy (BN in train mode), and sum over Conv2d/Linear layers l
/// log( Σ_{θ∈l} mean_b|g_b,θ| / std_b(g_b,θ) ) — the inverse coefficient of variation of the gradients across
/// minibatches. Larger = predicted better.
/// </summary>
/// <remarks>
/// Follows the authors' code (SLDGroup/ZiCo <c>compute_zico.py</c>): std is the population standard deviation of the
/// signed gradient over the B minibatches; elements with zero std (gradients identical in every minibatch, e.g. a weight
/// the loss does not depend on) have no ratio and are left out; a layer none of whose elements has a ratio is left out of
/// the sum. B = 2 as in the MeCo authors' NAS-Bench-201 harness (the ZiCo code takes every batch of a loader).
/// </remarks>
public sealed class ZicoProxy : IProxy
{
    public ZicoProxy(int minibatches = 2)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minibatches, 2);
        Minibatches = minibatches;
    }

    /// <summary>B, the number of contiguous minibatches the batch is split into (sizes differ by at most one).</summary>
    public int Minibatches { get; }

    public string Name => "zico";

    public ProxyRequirements Requirements { get; } = new(NeedsLabels: true, NeedsData: true, BatchNormMode.Train);

    public ProxyScore Score(ProxyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Labels is null) throw new InvalidOperationException("zico needs labels; create the ProxyContext with labels.");
        int n = context.BatchSize, b = Minibatches;
        if (n < b) return ProxyScore.NotApplicable($"zico splits the batch into {b} minibatches but it has only {n} inputs");
        var model = context.Network;
        var layers = NetworkLayers.WeightLayers(model);
        if (layers.Count == 0) return ProxyScore.NotApplicable("the network has no Conv2d or Linear layer");
        var weights = layers.Select(l => (Tensor)l.Weight).ToArray();

        using var scope = NewDisposeScope();
        var perLayer = layers.Select(_ => new List<Tensor>()).ToArray();
        string? reason = null;
        using (var bn = context.UseBatchNorm(BatchNormMode.Train))
            for (int part = 0; part < b; part++)
            {
                long start = (long)part * n / b, end = (long)(part + 1) * n / b;
                using var gradMode = enable_grad();
                var logits = model.call(context.Inputs.narrow(0, start, end - start));
                var loss = nn.functional.cross_entropy(logits, context.Labels.narrow(0, start, end - start));
                var grads = autograd.grad(new[] { loss }, weights, allow_unused: true);
                using var noGrad = no_grad();
                for (int l = 0; l < weights.Length; l++)
                {
                    var g = grads[l].IsInvalid ? zeros_like(weights[l]) : grads[l];
                    reason ??= ProxyContext.NonFiniteEntries($"∂L/∂{layers[l].Name} on minibatch {part}", g);
                    perLayer[l].Add(g.detach().reshape(-1).to_type(ScalarType.Float64));
                }
            }
        if (reason is not null) return ProxyScore.NonFinite(double.NaN, reason);

        using var noGradSum = no_grad();
        double score = 0;
        for (int l = 0; l < layers.Count; l++)
        {
            var g = stack(perLayer[l]);
            var mean = g.mean(new long[] { 0 });
            var std = (g - mean).square().mean(new long[] { 0 }).sqrt();
            var mask = std > 0;
            if (!mask.any().item<bool>()) continue;
            double sum = (g.abs().mean(new long[] { 0 }).masked_select(mask) / std.masked_select(mask)).sum().item<double>();
            score += Math.Log(sum);
        }
        return ProxyScore.From(score, () => $"the ZiCo sum is {score}");
    }
}
