using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Proxies;

/// <summary>
/// <c>meco</c> (Jiang, Wang &amp; Bie, NeurIPS 2023, Sec. 4): one Gaussian input x ~ N(0, I) of the batch's sample shape
/// (seeded from the context's seed); for each Conv2d call i, its feature map f_i(x) of c channels × (h·w) positions, P_i
/// the c×c Pearson correlation matrix of the channels across positions; score = Σ_i λ_min(P_i), in float64.
/// Data- and label-free; BN in train mode, as in the reference. Larger = predicted better.
/// </summary>
/// <remarks>
/// "Layers" are Conv2d outputs, each call once (BN after a convolution only rescales and shifts each channel, which
/// leaves P unchanged). The reference code hooks every module — containers, BN, ReLU, the network itself — so the same
/// map is counted several times, and feeds a 64×64 input whatever the dataset. A 1×1 map has no positions to correlate
/// over and is skipped. A network without Conv2d is not applicable.
/// <para>Constant channels. The paper reads λ_min(P) as how far a layer's channels are from linear dependence. A channel
/// that is constant over its positions is, once centred, the zero vector: the channels are then linearly dependent, P (the
/// Gram matrix of the centred, unit-normalised channels, with the zero vector left as it is) is singular, and the layer's
/// λ_min is exactly 0. The reference reaches the same value by setting the undefined correlations to 0. So the score is
/// finite for every network whose feature maps are finite. When the network's output does not depend on its input (a
/// second Gaussian sample gives exactly the same logits, as for an NB201 cell whose output is always zero), the score is
/// not applicable and says so: the correlations then describe no function of the data.</para>
/// </remarks>
public sealed class MecoProxy : IProxy
{
    public string Name => "meco";

    public ProxyRequirements Requirements { get; } = new(NeedsLabels: false, NeedsData: false, BatchNormMode.Train);

    public ProxyScore Score(ProxyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var model = context.Network;
        var convs = NetworkLayers.All(model).Where(m => m.Module is Conv2d).Select(m => (m.Name, (Conv2d)m.Module)).ToArray();
        if (convs.Length == 0) return ProxyScore.NotApplicable("meco needs Conv2d feature maps (channels × positions); the network has no Conv2d");

        using var scope = NewDisposeScope();
        using var generator = new Generator(unchecked((ulong)Seeds.Derive(context.Seed, "meco")), context.Device);
        var x = randn(new long[] { 1 }.Concat(context.SampleShape).ToArray(), dtype: context.Inputs.dtype, device: context.Device, generator: generator);

        double sum = 0;
        int maps = 0;
        Tensor? logits = null;
        string? reason = null;
        using (context.UseBatchNorm(BatchNormMode.Train))
        using (no_grad())
        using (NetworkLayers.Observe(convs, (name, _, output) =>
        {
            using var hookScope = NewDisposeScope();
            var f = output[0].reshape(output.shape[1], -1).to_type(ScalarType.Float64);
            if (f.shape[1] < 2 || reason is not null) return null;
            reason = ProxyContext.NonFiniteEntries($"the feature map of '{name}'", f);
            if (reason is not null) return null;
            var centred = f - f.mean(new long[] { 1 }, keepdim: true);
            var norms = centred.square().sum(1).sqrt();
            maps++;
            // A constant channel centres to the zero vector: P is singular and, being positive semi-definite, has λ_min = 0.
            if ((norms == 0).any().item<bool>()) return null;
            var z = centred / norms.unsqueeze(1);
            var p = z.mm(z.t());
            sum += linalg.eigvalsh((p + p.t()) / 2)[0].item<double>();
            return null;
        }))
        {
            logits = model.call(x);
        }
        if (reason is not null) return ProxyScore.NonFinite(double.NaN, reason);
        using (context.UseBatchNorm(BatchNormMode.Train))
        using (no_grad())
        {
            var other = randn(x.shape, dtype: x.dtype, device: context.Device, generator: generator);
            if ((model.call(other) == logits!).all().item<bool>())
                return ProxyScore.NotApplicable("the network's output does not depend on its input (two Gaussian samples give identical logits), so its channel correlations describe no function of the data");
        }
        if (maps == 0)
            return ProxyScore.NotApplicable("no Conv2d feature map with at least 2 positions was seen (1×1 maps, or Conv2d invoked with forward() instead of call())");
        return ProxyScore.From(sum, () => $"Σ λ_min is {sum}");
    }
}
