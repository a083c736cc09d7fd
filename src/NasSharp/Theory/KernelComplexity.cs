using TorchSharp;

namespace NasSharp.Theory;

/// <summary>The data-dependent complexity of a kernel and labels, and the spectrum it was computed from.</summary>
/// <param name="Complexity">tr(YᵀΘ⁻¹Y)/N with Y the N×K one-hot labels; +∞ when Θ is singular at float64 precision.</param>
/// <param name="LambdaMin">λ_min(Θ) of the same decomposition.</param>
/// <param name="LambdaMax">λ_max(Θ).</param>
/// <param name="Trace">tr Θ.</param>
/// <param name="NonFiniteReason">Why Θ could not be decomposed (NaN/Inf entries), else null.</param>
public sealed record ComplexityResult(double Complexity, double LambdaMin, double LambdaMax, double Trace, string? NonFiniteReason)
{
    /// <summary>N / tr(YᵀΘ⁻¹Y), larger is better; ≥ λ_min(Θ) because ‖Y‖_F² = N. 0 when Θ is singular.</summary>
    public double InverseComplexity => 1 / Complexity;

    /// <summary>√(2·complexity): the leading term of the generalisation bound of Arora et al. (2019, Thm. 5.1).</summary>
    public double GeneralizationTerm => Math.Sqrt(2 * Complexity);
}

/// <summary>
/// yᵀΘ⁻¹y/N (Arora, Du, Hu, Li &amp; Wang, ICML 2019, Thm. 5.1: test error ≲ √(2yᵀ(H^∞)⁻¹y/n) for a two-layer net
/// trained by gradient descent; Cao &amp; Gu 2019 for deep nets and SGD), and yᵀΘ⁻¹y ≤ ‖y‖²/λ_min links it to λ_min.
/// </summary>
/// <remarks>
/// Multi-class: the infinite-width NTK of K logits is Θ ⊗ I_K (different logits are uncorrelated), so for the
/// vectorised one-hot labels the quadratic form is Σ_k y_kᵀ Θ⁻¹ y_k = tr(YᵀΘ⁻¹Y), summed over the K one-hot label
/// columns; we divide by N, so for one-hot labels (‖Y‖_F² = N) the complexity is at most 1/λ_min(Θ). Computed from
/// the float64 eigendecomposition Θ = U Λ Uᵀ as Σ_i ‖u_iᵀY‖²/λ_i.
/// </remarks>
public static class KernelComplexity
{
    public static ComplexityResult Compute(double[] kernel, int count, int[] labels, int classes)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(labels);
        if (count < 1 || kernel.Length != (long)count * count)
            throw new ArgumentException($"A kernel on {count} inputs has {(long)count * count} entries, got {kernel.Length}.", nameof(kernel));
        if (labels.Length != count) throw new ArgumentException($"{labels.Length} labels for {count} inputs.", nameof(labels));
        foreach (var label in labels)
            if (label < 0 || label >= classes) throw new ArgumentException($"Label {label} outside 0..{classes - 1}.", nameof(labels));

        double trace = 0;
        for (int i = 0; i < count; i++) trace += kernel[i * count + i];
        int nonFinite = kernel.Count(v => !double.IsFinite(v));
        if (nonFinite > 0)
            return new ComplexityResult(double.NaN, double.NaN, double.NaN, trace, $"Θ has {nonFinite} NaN or Inf {(nonFinite == 1 ? "entry" : "entries")}");

        using var scope = torch.NewDisposeScope();
        var theta = torch.tensor(kernel, new long[] { count, count }, dtype: torch.ScalarType.Float64);
        theta = 0.5 * (theta + theta.t());
        var (values, vectors) = torch.linalg.eigh(theta);
        var lambda = values.data<double>().ToArray();
        var y = torch.nn.functional.one_hot(torch.tensor(labels.Select(l => (long)l).ToArray()), classes).to(torch.ScalarType.Float64);
        // ‖u_iᵀ Y‖² for every eigenvector u_i.
        var projections = vectors.t().mm(y).pow(2).sum(1).data<double>().ToArray();
        double complexity;
        if (lambda[0] <= 0) complexity = double.PositiveInfinity;
        else
        {
            complexity = 0;
            for (int i = 0; i < count; i++) complexity += projections[i] / lambda[i];
            complexity /= count;
        }
        return new ComplexityResult(complexity, lambda[0], lambda[^1], trace, null);
    }
}
