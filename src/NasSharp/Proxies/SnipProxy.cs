using static TorchSharp.torch;

namespace NasSharp.Proxies;

/// <summary>
/// <c>snip</c> (Lee et al. ICLR 2019, Eq. 6, as a NAS score by Abdelfattah et al. 2021): Σ_l Σ |W_l ⊙ ∂L/∂W_l| over
/// Conv2d/Linear weights, L the mean cross-entropy on the batch (BN in train mode). The reference code's
/// |∂L/∂mask| at mask = 1 is the same quantity. Larger = predicted better.
/// </summary>
public sealed class SnipProxy : IProxy
{
    public string Name => "snip";

    public ProxyRequirements Requirements { get; } =
        new(NeedsLabels: true, NeedsData: true, BatchNormMode.Train, Shares: SharedComputation.LossGradients);

    public ProxyScore Score(ProxyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var layers = NetworkLayers.WeightLayers(context.Network);
        if (layers.Count == 0) return ProxyScore.NotApplicable("the network has no Conv2d or Linear layer");
        var gradients = context.LossGradients();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        double sum = 0;
        foreach (var layer in layers)
            sum += (layer.Weight.to_type(ScalarType.Float64) * gradients.Of(layer.Weight).to_type(ScalarType.Float64)).abs().sum().item<double>();
        return ProxyScore.From(sum, () => gradients.NonFiniteReason ?? $"Σ|W ⊙ ∂L/∂W| is {sum}");
    }
}
