namespace NasSharp.Kernels;

/// <summary>
/// The eigenvalues of an empirical NTK Gram Θ, ascending, computed in float64. Θ = J Jᵀ is positive
/// semi-definite in exact arithmetic; in floating point its smallest eigenvalues can come out as tiny
/// negatives, which are reported as computed, not clipped.
/// </summary>
public sealed class NtkSpectrum
{
    private NtkSpectrum(double[] eigenvalues, double trace, string? nonFiniteReason)
    {
        Eigenvalues = eigenvalues;
        Trace = trace;
        NonFiniteReason = nonFiniteReason;
    }

    internal static NtkSpectrum Finite(double[] ascendingEigenvalues, double trace) => new(ascendingEigenvalues, trace, null);

    internal static NtkSpectrum NonFinite(double trace, string reason) => new([], trace, reason);

    /// <summary>Eigenvalues in ascending order; empty when <see cref="IsFinite"/> is false (none were computed).</summary>
    public IReadOnlyList<double> Eigenvalues { get; }

    /// <summary>False when Θ has NaN or ±Inf entries; <see cref="NonFiniteReason"/> then says how many.</summary>
    public bool IsFinite => NonFiniteReason is null;

    /// <summary>E.g. "Θ has 12 NaN entries"; null when Θ is finite.</summary>
    public string? NonFiniteReason { get; }

    /// <summary>λ_min(Θ), the quantity TE-NAS and NASI relate to trainability; NaN when Θ is not finite.</summary>
    public double LambdaMin => IsFinite ? Eigenvalues[0] : double.NaN;

    /// <summary>λ_max(Θ); NaN when Θ is not finite.</summary>
    public double LambdaMax => IsFinite ? Eigenvalues[^1] : double.NaN;

    /// <summary>tr Θ = Σ_n Θ_nn, summed from the diagonal (not the eigenvalues), so it is NaN or ±Inf exactly when the diagonal is.</summary>
    public double Trace { get; }

    /// <summary>
    /// κ = λ_max / λ_min. +∞ when λ_min ≤ 0: Θ is then singular at float64 precision (including Θ = 0), and a
    /// ratio with a rounding-noise denominator would be a meaningless, possibly negative number. NaN when Θ is not finite.
    /// </summary>
    public double Condition
    {
        get
        {
            if (!IsFinite) return double.NaN;
            return LambdaMin > 0 ? LambdaMax / LambdaMin : double.PositiveInfinity;
        }
    }
}
