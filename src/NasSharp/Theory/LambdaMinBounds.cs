using NasSharp.Kernels;
using NasSharp.Networks;
using NasSharp.Spaces;

namespace NasSharp.Theory;

/// <summary>A lower and an upper bound of λ_min of the analytic NTK on a <see cref="SphereBatch"/>.</summary>
/// <param name="Lower">Σ_{s≥1} θ_s λ_min(G^{∘s}) (see <see cref="LambdaMinBounds"/>).</param>
/// <param name="Upper">F(1) − F(t*), the Rayleigh quotient of the two most similar inputs.</param>
/// <param name="Series">The θ_s of the genotype's NTK.</param>
/// <param name="MaxCorrelation">t* = max_{i≠j} xᵢᵀxⱼ/d.</param>
public sealed record NtkBounds(double Lower, double Upper, NtkPowerSeries Series, double MaxCorrelation);

/// <summary>
/// Bounds of λ_min(Θ) in terms of the activations' Hermite coefficients and the data, for inputs on the sphere.
/// </summary>
/// <remarks>
/// <para>Zhu, Liu, Chrysos &amp; Cevher (NeurIPS 2022, arXiv 2209.07238) state lower and upper bounds of λ_min for mixed
/// activations and deep skips, but its exact statement could not be read here (only the abstract was available). What
/// is implemented is the standard mechanism it extends (Oymak &amp; Soltanolkotabi 2020; Nguyen, Mondelli &amp;
/// Montúfar 2021), composed through layers with different activations and skip sums as derived below; change this
/// class when the paper's statement is at hand.</para>
/// <para>Composition. On the sphere, Θ = F(G) entrywise with F(t) = Σ_s θ_s t^s (<see cref="NtkPowerSeries"/>): each
/// layer maps a non-negative series ρ(t) to Σ_r a_r(q)² ρ(t)^r (Mehler), the tangent term multiplies two such series
/// (Schur product), and a skip adds the covariances of the summed branches plus the square of their summed means —
/// all non-negative terms, so θ_s ≥ 0 for every mix of activations and skips, and a skip can only add to each θ_s.</para>
/// <para>Lower bound. G^{∘s} ⪰ 0 (Schur product theorem), so λ_min(Θ) ≥ Σ_s θ_s λ_min(G^{∘s}). Terms dropped by the
/// truncation (Hermite orders &gt; R, degrees &gt; S) are PSD, so the truncated θ_s still give a lower bound. Since
/// diag G = 1, λ_min(A ∘ G) ≥ λ_min(A)·min_i G_ii = λ_min(A) (Schur), hence λ_min(G^{∘s}) is non-decreasing in s:
/// it is computed for s ∈ {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64} and each s uses the largest computed power ≤ s.
/// The s = 0 term (a constant kernel, rank one) contributes λ_min(11ᵀ) = 0. The single-term form
/// λ_min(Θ) ≥ μ_r(σ)² λ_min((XXᵀ)^{∘r}) of a two-layer net is the special case of one layer and one s.</para>
/// <para>Upper bound. For any i ≠ j, λ_min(Θ) ≤ vᵀΘv with v = (e_i − e_j)/√2, which on the sphere is
/// F(1) − F(G_ij) = Σ_s θ_s (1 − G_ij^s); taking the most similar pair t* = max G_ij shows how near-duplicate inputs
/// force λ_min toward 0. F is evaluated exactly (the analytic kernel of the pair), not from the truncated series.</para>
/// </remarks>
public static class LambdaMinBounds
{
    private static readonly int[] ComputedPowers = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64];

    public static NtkBounds Compute(MlpGenotype genotype, NetworkOptions options, SphereBatch data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var series = NtkPowerSeries.Of(genotype, options, NtkPowerSeries.DefaultDegree);
        return new NtkBounds(Lower(series, data), Upper(genotype, options, data.MaxCorrelation), series, data.MaxCorrelation);
    }

    /// <summary>Σ_{s≥1} θ_s λ_min(G^{∘s}), with the monotone fill-in between computed powers.</summary>
    public static double Lower(NtkPowerSeries series, SphereBatch data)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(data);
        double bound = 0;
        var theta = series.NtkCoefficients;
        for (int s = 1; s < theta.Count; s++)
        {
            if (theta[s] == 0) continue;
            int power = ComputedPowers.Last(p => p <= s);
            // A PSD matrix has λ_min ≥ 0; a rounding-level negative value is no information.
            bound += theta[s] * Math.Max(0, data.HadamardPowerMinEigenvalue(power));
        }
        return bound;
    }

    /// <summary>F(1) − F(t): the Rayleigh quotient of (e_i − e_j)/√2 for two inputs with correlation t.</summary>
    public static double Upper(MlpGenotype genotype, NetworkOptions options, double correlation)
    {
        if (!(correlation >= -1 && correlation <= 1)) throw new ArgumentOutOfRangeException(nameof(correlation), correlation, "A correlation lies in [−1, 1].");
        var pair = AnalyticNtk.FromInputGram(genotype, [1, correlation, correlation, 1], 2, options);
        return 0.5 * (pair.Ntk(0, 0) + pair.Ntk(1, 1)) - pair.Ntk(0, 1);
    }
}
