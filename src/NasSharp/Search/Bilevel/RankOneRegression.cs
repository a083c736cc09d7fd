using static TorchSharp.torch;

namespace NasSharp.Search.Bilevel;

/// <summary>An estimate of the rank-one model: α on the simplex and the readout Θ (p × C, row-major).</summary>
public sealed record RankOneEstimate(double[] Alpha, double[] Theta, int Features, int Outputs);

/// <summary>
/// The low-rank view of activation search (Oymak, Li &amp; Soltanolkotabi, ICML 2021: "connections between NAS ... and
/// low-rank matrix learning"; their estimator's exact statement is not available here, this is the standard spectral
/// initialisation of rank-one matrix sensing followed by alternating least squares). With h candidate feature maps
/// φ_i(x) ∈ R^p, stacked as Φ(x) ∈ R^{p×h}, the model is
///   f_c(x) = Σ_i α_i ⟨θ_c, φ_i(x)⟩ = ⟨Φ(x), θ_c αᵀ⟩,
/// so for C outputs the unknown is the rank-one matrix M = [θ_1; …; θ_C] αᵀ ∈ R^{Cp×h}. The spectral estimator is
///   M̂ = n⁻¹ Σ_j y_j ⊗ Φ(x_j),
/// unbiased for M when vec Φ(x) is isotropic (E[vec Φ vec Φᵀ] = I); its top singular pair gives α̂ (sign fixed so that its
/// entries sum to a positive number, scaled to sum 1, projected onto the simplex) and Θ̂. Alternating least squares then
/// fits Θ on one sample (the training split) and α on another (the validation split), each a minimum-norm least-squares
/// solve. Gradient descent on the joint squared loss is the baseline. Float64 throughout.
/// </summary>
public static class RankOneRegression
{
    /// <summary>The spectral estimate from features [n, p, h] and targets [n, C].</summary>
    public static RankOneEstimate Spectral(Tensor features, Tensor targets)
    {
        var (n, p, h, c) = Check(features, targets);
        using var scope = NewDisposeScope();
        var m = einsum("nc,nph->cph", targets, features).reshape(c * p, h) / n;
        var (u, s, vh) = linalg.svd(m, fullMatrices: false);
        var v = vh.select(0, 0);
        double sum = v.sum().item<double>();
        if (sum < 0) { v = -v; sum = -sum; }
        var theta = (u.select(1, 0) * s[0] * (sum == 0 ? 1 : sum)).reshape(c, p).t();
        var alpha = sum == 0 ? v.data<double>().ToArray() : (v / sum).data<double>().ToArray();
        return new RankOneEstimate(ProjectToSimplex(alpha), theta.contiguous().data<double>().ToArray(), p, c);
    }

    /// <summary>
    /// Alternating least squares from <paramref name="start"/>'s α: Θ ← argmin ‖Φ_T(α) Θ − Y_T‖ (minimum norm), then
    /// α ← argmin Σ_{j,c} (⟨Φ_V(x_j)ᵀθ_c, α⟩ − y_jc)², rescaled to sum 1 (Θ takes the scale), <paramref name="iterations"/> times.
    /// </summary>
    public static RankOneEstimate AlternatingLeastSquares(Tensor trainFeatures, Tensor trainTargets, Tensor validationFeatures, Tensor validationTargets,
        RankOneEstimate start, int iterations)
    {
        var (_, p, h, c) = Check(trainFeatures, trainTargets);
        var (nV, pV, hV, cV) = Check(validationFeatures, validationTargets);
        if (pV != p || hV != h || cV != c) throw new ArgumentException("Training and validation features must have the same p, h and outputs.");
        ArgumentNullException.ThrowIfNull(start);
        if (iterations < 1) throw new ArgumentOutOfRangeException(nameof(iterations), iterations, "Need at least one iteration.");
        using var scope = NewDisposeScope();
        var alpha = tensor(start.Alpha, dtype: ScalarType.Float64);
        Tensor theta = zeros(p, c, dtype: ScalarType.Float64);
        for (int t = 0; t < iterations; t++)
        {
            using var step = NewDisposeScope();
            var z = einsum("nph,h->np", trainFeatures, alpha);
            theta = linalg.pinv(z).mm(trainTargets);
            var design = einsum("nph,pc->nch", validationFeatures, theta).reshape(nV * c, h);
            alpha = linalg.pinv(design).mv(validationTargets.reshape(-1));
            double sum = alpha.sum().item<double>();
            if (sum != 0 && double.IsFinite(sum)) { alpha = alpha / sum; theta = theta * sum; }
            alpha = alpha.MoveToOuterDisposeScope();
            theta = theta.MoveToOuterDisposeScope();
        }
        return new RankOneEstimate(ProjectToSimplex(alpha.data<double>().ToArray()), theta.contiguous().data<double>().ToArray(), p, c);
    }

    /// <summary>
    /// Gradient descent on (1/2n) Σ_j ‖f(x_j) − y_j‖² over (Θ, α) jointly, from Θ = 0 and uniform α plus a small seeded
    /// perturbation of Θ (at Θ = 0 the gradient in α vanishes).
    /// </summary>
    public static RankOneEstimate GradientDescent(Tensor features, Tensor targets, double learningRate, int steps, long seed)
    {
        var (n, p, h, c) = Check(features, targets);
        if (!(learningRate > 0)) throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "The learning rate must be positive.");
        using var scope = NewDisposeScope();
        using var generator = new TorchSharp.torch.Generator((ulong)seed);
        var theta = 0.01 * randn(new long[] { p, c }, dtype: ScalarType.Float64, generator: generator);
        var alpha = ones(h, dtype: ScalarType.Float64) / h;
        // The step is η divided by the mean squared feature norm per candidate, so one η suits features of any scale.
        double rate = learningRate / (features.pow(2).sum().item<double>() / ((double)n * h));
        for (int t = 0; t < steps; t++)
        {
            using var step = NewDisposeScope();
            var r = einsum("nph,pc,h->nc", features, theta, alpha) - targets;
            var gradTheta = einsum("nph,h,nc->pc", features, alpha, r) / n;
            var gradAlpha = einsum("nph,pc,nc->h", features, theta, r) / n;
            theta = (theta - rate * gradTheta).MoveToOuterDisposeScope();
            alpha = (alpha - rate * gradAlpha).MoveToOuterDisposeScope();
        }
        var a = alpha.data<double>().ToArray();
        double sum = a.Sum();
        if (sum < 0) { a = [.. a.Select(v => -v)]; sum = -sum; theta = -theta; }
        if (sum > 0) { a = [.. a.Select(v => v / sum)]; theta = theta * sum; }
        return new RankOneEstimate(ProjectToSimplex(a), theta.contiguous().data<double>().ToArray(), p, c);
    }

    /// <summary>(1/2n) Σ_j ‖f(x_j) − y_j‖² of an estimate.</summary>
    public static double Loss(RankOneEstimate estimate, Tensor features, Tensor targets)
    {
        var (n, p, h, c) = Check(features, targets);
        ArgumentNullException.ThrowIfNull(estimate);
        if (estimate.Features != p || estimate.Outputs != c || estimate.Alpha.Length != h) throw new ArgumentException("The estimate does not match the features.");
        using var scope = NewDisposeScope();
        var f = einsum("nph,pc,h->nc", features, tensor(estimate.Theta, new long[] { p, c }, dtype: ScalarType.Float64), tensor(estimate.Alpha, dtype: ScalarType.Float64));
        return 0.5 * (f - targets).pow(2).sum().item<double>() / n;
    }

    /// <summary>
    /// The Euclidean projection onto the probability simplex {α ≥ 0, Σα = 1} (Held, Wolfe &amp; Crowder 1974; the sort-based
    /// algorithm of Duchi et al., ICML 2008): α_i = max(v_i − τ, 0) with τ chosen so the result sums to 1.
    /// </summary>
    public static double[] ProjectToSimplex(IReadOnlyList<double> v)
    {
        ArgumentNullException.ThrowIfNull(v);
        if (v.Count == 0) throw new ArgumentException("Cannot project an empty vector.", nameof(v));
        if (v.Any(x => !double.IsFinite(x))) throw new ArgumentException("The vector has a non-finite entry.", nameof(v));
        var sorted = v.OrderByDescending(x => x).ToArray();
        double cumulative = 0, tau = 0;
        for (int k = 0; k < sorted.Length; k++)
        {
            cumulative += sorted[k];
            double candidate = (cumulative - 1) / (k + 1);
            if (sorted[k] - candidate > 0) tau = candidate;
        }
        return [.. v.Select(x => Math.Max(x - tau, 0))];
    }

    private static (int N, int P, int H, int C) Check(Tensor features, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(targets);
        if (features.dim() != 3 || targets.dim() != 2 || features.shape[0] != targets.shape[0])
            throw new ArgumentException($"Features must be [n, p, h] and targets [n, C] with the same n, got [{string.Join(",", features.shape)}] and [{string.Join(",", targets.shape)}].");
        if (features.dtype != ScalarType.Float64 || targets.dtype != ScalarType.Float64) throw new ArgumentException("Features and targets must be float64.");
        return ((int)features.shape[0], (int)features.shape[1], (int)features.shape[2], (int)targets.shape[1]);
    }
}
