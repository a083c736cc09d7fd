namespace NasSharp.Proxies;

/// <summary>
/// <c>ntk_cond</c> (TE-NAS, Chen, Gong &amp; Wang, ICLR 2021, Sec. 3.1): the condition number κ = λ_max/λ_min of the empirical
/// NTK of the summed logits on the batch. TE-NAS prefers a small κ (better trainability), so the score is −κ:
/// larger = predicted better. A singular Θ (λ_min ≤ 0 in float64) has κ = +∞, reported as the non-finite score −∞.
/// </summary>
/// <remarks>
/// BN runs in eval mode so each row of J is one sample's gradient (<see cref="Kernels.EmpiricalNtk.Exact"/>); θ is every
/// trainable parameter. The TE-NAS code uses train-mode BN (rows are then derivatives of the batch function), only
/// parameters named "weight", and replaces a NaN κ by 100000.
/// </remarks>
public sealed class NtkConditionProxy : IProxy
{
    public string Name => "ntk_cond";

    public ProxyRequirements Requirements { get; } =
        new(NeedsLabels: false, NeedsData: true, BatchNormMode.Eval, Shares: SharedComputation.EmpiricalNtk);

    public ProxyScore Score(ProxyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var spectrum = context.NtkSpectrum();
        if (!spectrum.IsFinite) return ProxyScore.NonFinite(double.NaN, spectrum.NonFiniteReason!);
        double kappa = spectrum.Condition;
        return ProxyScore.From(-kappa, () => $"Θ is singular at float64 precision (λ_min = {spectrum.LambdaMin:G6}), so κ = ∞");
    }
}
