using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Proxies;

/// <summary>
/// <c>jacob_cov</c> (Mellor et al. 2020, arXiv:2006.04647v1, Eq. 2): J has one row per input, J_n = ∂(Σ_k f_k)/∂x_n
/// flattened; C is the correlation matrix of the rows (observations: input coordinates); with eigenvalues λ_i of C and
/// k = 10⁻⁵, the score is −Σ_i [log(λ_i + k) + 1/(λ_i + k)]. Labels are not used; BN in train mode (as in the reference,
/// so J is the gradient of the batch's summed output). Larger = predicted better (less correlated input gradients).
/// </summary>
/// <remarks>A row with zero variance (e.g. an input whose gradient is constant) has no correlation: the score is non-finite.</remarks>
public sealed class JacobCovProxy : IProxy
{
    /// <summary>The regulariser k of Mellor et al.'s score.</summary>
    public const double K = 1e-5;

    public string Name => "jacob_cov";

    public ProxyRequirements Requirements { get; } =
        new(NeedsLabels: false, NeedsData: true, BatchNormMode.Train, Shares: SharedComputation.InputGradients);

    public ProxyScore Score(ProxyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var gradients = context.InputGradients();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int n = context.BatchSize;
        var j = gradients.reshape(n, -1).to_type(ScalarType.Float64);
        var reason = ProxyContext.NonFiniteEntries("∂(Σf)/∂x", j);
        if (reason is not null) return ProxyScore.NonFinite(double.NaN, reason);

        var centred = j - j.mean(new long[] { 1 }, keepdim: true);
        var norms = centred.square().sum(1).sqrt();
        var constant = (norms == 0).nonzero().reshape(-1).data<long>().ToArray();
        if (constant.Length > 0)
            return ProxyScore.NonFinite(double.NaN,
                $"the input gradient of sample(s) {string.Join(", ", constant.Take(5))}{(constant.Length > 5 ? ", …" : "")} is constant, so its correlation is undefined");
        var z = centred / norms.unsqueeze(1);
        var c = z.mm(z.t());
        var lambda = linalg.eigvalsh((c + c.t()) / 2) + K;
        double score = -(lambda.log() + lambda.reciprocal()).sum().item<double>();
        return ProxyScore.From(score, () => $"an eigenvalue of C is below −k = −{K} (λ_min + k = {lambda.min().item<double>()}), so log(λ + k) is undefined");
    }
}
