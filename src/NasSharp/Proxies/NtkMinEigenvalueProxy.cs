namespace NasSharp.Proxies;

/// <summary>
/// <c>ntk_min_eig</c>: λ_min of the empirical NTK Θ = J Jᵀ of the summed logits on the batch (BN in eval mode, all trainable
/// parameters). A larger λ_min gives faster convergence and a smaller generalisation bound (yᵀΘ⁻¹y ≤ n/λ_min; Arora et al.
/// 2019; Zhu et al., NeurIPS 2022), so larger = predicted better. Tiny negative values are rounding of a singular Θ and kept as computed.
/// </summary>
public sealed class NtkMinEigenvalueProxy : IProxy
{
    public string Name => "ntk_min_eig";

    public ProxyRequirements Requirements { get; } =
        new(NeedsLabels: false, NeedsData: true, BatchNormMode.Eval, Shares: SharedComputation.EmpiricalNtk);

    public ProxyScore Score(ProxyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var spectrum = context.NtkSpectrum();
        return spectrum.IsFinite
            ? ProxyScore.From(spectrum.LambdaMin, () => $"λ_min is {spectrum.LambdaMin}")
            : ProxyScore.NonFinite(double.NaN, spectrum.NonFiniteReason!);
    }
}
