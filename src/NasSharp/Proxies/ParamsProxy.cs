namespace NasSharp.Proxies;

/// <summary>
/// <c>params</c>: the number of trainable parameters (each shared tensor once). Larger = predicted better, the naive
/// baseline of Abdelfattah et al. 2021 and Ning et al. 2021. Needs no data and does not run the network.
/// </summary>
public sealed class ParamsProxy : IProxy
{
    public string Name => "params";

    public ProxyRequirements Requirements { get; } = new(NeedsLabels: false, NeedsData: false, BatchNormMode.NotUsed);

    public ProxyScore Score(ProxyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        long count = NetworkLayers.TrainableParameters(context.Network).Sum(p => p.numel());
        return ProxyScore.Finite(count);
    }
}
