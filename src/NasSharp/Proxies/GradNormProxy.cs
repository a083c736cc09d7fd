using static TorchSharp.torch;

namespace NasSharp.Proxies;

/// <summary>
/// <c>grad_norm</c> (Abdelfattah et al. ICLR 2021, Sec. 3): Σ_l ‖∂L/∂W_l‖₂, the sum over Conv2d/Linear layers of the
/// Euclidean norm of the weight gradient of the mean cross-entropy L on the batch (BN in train mode). Larger = predicted better.
/// </summary>
public sealed class GradNormProxy : IProxy
{
    public string Name => "grad_norm";

    public ProxyRequirements Requirements { get; } =
        new(NeedsLabels: true, NeedsData: true, BatchNormMode.Train, Shares: SharedComputation.LossGradients);

    public ProxyScore Score(ProxyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var layers = NetworkLayers.WeightLayers(context.Network);
        if (layers.Count == 0) return ProxyScore.NotApplicable("the network has no Conv2d or Linear layer");
        var gradients = context.LossGradients();
        using var scope = NewDisposeScope();
        double sum = 0;
        foreach (var layer in layers)
            sum += gradients.Of(layer.Weight).to_type(ScalarType.Float64).norm().item<double>();
        return ProxyScore.From(sum, () => gradients.NonFiniteReason ?? $"Σ‖∂L/∂W‖ is {sum}");
    }
}
