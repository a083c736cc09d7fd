using NasSharp.Networks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Proxies;

/// <summary>
/// <c>flops</c>: multiply-adds per sample of every Conv2d, Linear and <see cref="ScaledLinear"/> call at the batch's input
/// size. Conv2d: (output elements) · (C_in/groups) · k_h · k_w; Linear: (output elements) · in_features. Bias additions,
/// BN, pooling and activations are not counted. Larger = predicted better (Abdelfattah et al. 2021's baseline).
/// </summary>
/// <remarks>
/// Shapes come from one eval-mode forward pass of a single input through forward hooks, so each call of a layer counts
/// (a layer used twice counts twice) and layers the forward pass never reaches count zero. TorchSharp runs hooks only
/// when a module is invoked with <c>call()</c>; a network that uses <c>forward()</c> on its submodules is not applicable.
/// </remarks>
public sealed class FlopsProxy : IProxy
{
    public string Name => "flops";

    public ProxyRequirements Requirements { get; } = new(NeedsLabels: false, NeedsData: false, BatchNormMode.Eval);

    public ProxyScore Score(ProxyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var model = context.Network;
        var layers = NetworkLayers.WeightLayers(model);
        if (layers.Count == 0) return ProxyScore.Finite(0);

        using var scope = NewDisposeScope();
        using var bn = context.UseBatchNorm(BatchNormMode.Eval);
        using var noGrad = no_grad();
        double macs = 0;
        int calls = 0;
        using (NetworkLayers.Observe(layers.Select(l => (l.Name, l.Module)), (_, module, output) =>
        {
            double perSample = output.numel() / (double)output.shape[0];
            macs += module switch
            {
                Conv2d c => perSample * (c.in_channels / c.groups) * c.kernel_size.Aggregate(1L, (a, b) => a * b),
                Linear l => perSample * l.in_features,
                ScaledLinear s => perSample * s.InFeatures,
                _ => throw new InvalidOperationException($"No multiply-add rule for {module.GetType().Name}."),
            };
            calls++;
            return null;
        }))
        {
            model.call(context.Inputs.narrow(0, 0, 1));
        }
        if (calls == 0)
            return ProxyScore.NotApplicable(
                $"the network has {layers.Count} Conv2d/Linear layers but none was seen running: it invokes them with forward(), which skips TorchSharp's hooks; use call()");
        return ProxyScore.From(macs, () => $"the multiply-add count overflowed to {macs}");
    }
}
