using NasSharp.Spaces;

namespace NasSharp.Kernels;

/// <summary>
/// The Hermite expansion of an activation at pre-activation variance q: σ(√q z) = Σ_r a_r h_r(z) with the
/// normalised probabilists' Hermite polynomials h_r = He_r/√(r!), a_r = E_{z~N(0,1)}[σ(√q z) h_r(z)]
/// At q = 1 these are the coefficients μ_r(σ) of the λ_min bounds of Zhu et al. (NeurIPS 2022).
/// </summary>
/// <remarks>
/// The expansion gives the dual activation by Mehler's formula: for (u, v) with variances q1, q2 and correlation ρ,
/// E[σ(u)σ(v)] = Σ_r a_r(q1) a_r(q2) ρ^r, and (Stein's lemma, a_r' := E[σ'(√q z) h_r(z)] = √((r+1)/q) a_{r+1})
/// E[σ'(u)σ'(v)] = Σ_r (r+1) a_{r+1}(q1) a_{r+1}(q2) ρ^r / √(q1 q2). The moments E[σ²] and E[σ'²] are integrated
/// separately, so the mass the truncated series leaves out, <see cref="Tail"/> = Σ_{r&gt;R} a_r², is known, and
/// |remainder| ≤ √(Tail(q1) Tail(q2)) |ρ|^{R+1} by Cauchy–Schwarz.
/// </remarks>
public sealed class HermiteExpansion
{
    /// <summary>Default truncation order R: enough for ≤ 1e-12 series error at |ρ| ≤ 0.8 for every activation.</summary>
    public const int DefaultOrder = 128;

    private readonly double[] coefficients;

    private HermiteExpansion(Activation activation, double variance, double[] coefficients, double secondMoment, double derivativeSecondMoment)
    {
        Activation = activation;
        Variance = variance;
        this.coefficients = coefficients;
        SecondMoment = secondMoment;
        DerivativeSecondMoment = derivativeSecondMoment;
        double sum = 0, sumDerivative = 0;
        for (int r = 0; r < coefficients.Length; r++)
        {
            sum += coefficients[r] * coefficients[r];
            if (r > 0) sumDerivative += r * coefficients[r] * coefficients[r] / variance;
        }
        // Both sides come from the same quadrature; rounding can leave a tiny negative difference, which is no mass.
        Tail = Math.Max(0, secondMoment - sum);
        DerivativeTail = Math.Max(0, derivativeSecondMoment - sumDerivative);
    }

    public Activation Activation { get; }

    /// <summary>The pre-activation variance q.</summary>
    public double Variance { get; }

    /// <summary>a_0 … a_R; a_0 = E[σ(√q z)] is the mean of the activation.</summary>
    public IReadOnlyList<double> Coefficients => coefficients;

    public int Order => coefficients.Length - 1;

    /// <summary>E[σ(√q z)²] = Σ_r a_r² (all r).</summary>
    public double SecondMoment { get; }

    /// <summary>E[σ'(√q z)²] = Σ_{r≥1} r a_r² / q (all r).</summary>
    public double DerivativeSecondMoment { get; }

    /// <summary>Σ_{r&gt;R} a_r²: what the truncated series misses of E[σ²].</summary>
    public double Tail { get; }

    /// <summary>Σ_{r&gt;R} r a_r²/q: what the truncated series misses of E[σ'²].</summary>
    public double DerivativeTail { get; }

    internal double[] CoefficientArray => coefficients;

    /// <summary>The expansion of <paramref name="activation"/> at variance <paramref name="variance"/> up to order R.</summary>
    public static HermiteExpansion Of(Activation activation, double variance = 1, int order = DefaultOrder)
    {
        if (!Enum.IsDefined(activation)) throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        if (!(variance > 0) || !double.IsFinite(variance))
            throw new ArgumentOutOfRangeException(nameof(variance), variance, "The pre-activation variance must be positive and finite.");
        if (order < 0 || order > 512) throw new ArgumentOutOfRangeException(nameof(order), order, "The order must be in 0..512.");

        var (z, w) = GaussianQuadrature.NormalRule(variance, order);
        double scale = Math.Sqrt(variance);
        var a = new double[order + 1];
        double m2 = 0, d2 = 0;
        // h_{r+1} = z h_r/√(r+1) − √(r/(r+1)) h_{r−1}: the three-term recurrence of He_r/√(r!).
        var c1 = new double[order + 1];
        var c2 = new double[order + 1];
        for (int r = 1; r <= order; r++)
        {
            c1[r] = 1 / Math.Sqrt(r + 1);
            c2[r] = Math.Sqrt(r / (r + 1.0));
        }
        for (int i = 0; i < z.Length; i++)
        {
            double x = z[i];
            double f = activation.Evaluate(scale * x);
            double df = activation.Derivative(scale * x);
            m2 += w[i] * f * f;
            d2 += w[i] * df * df;
            double wf = w[i] * f;
            double previous = 1, current = x;
            a[0] += wf;
            if (order >= 1) a[1] += wf * x;
            for (int r = 1; r < order; r++)
            {
                double next = x * current * c1[r] - c2[r] * previous;
                a[r + 1] += wf * next;
                previous = current;
                current = next;
            }
        }
        return new HermiteExpansion(activation, variance, a, m2, d2);
    }

    /// <summary>μ_0 … μ_{count−1} of σ at unit variance, the coefficients Zhu et al.'s bounds are stated in.</summary>
    public static double[] UnitCoefficients(Activation activation, int count)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "Ask for at least one coefficient.");
        return Of(activation, 1, Math.Max(count - 1, 0)).coefficients;
    }

    /// <summary>E[σ(u)σ(v)] by Mehler's series and its bound on the left-out remainder.</summary>
    internal static (double K, double Kd, double Bound, double DerivativeBound) Mehler(HermiteExpansion e1, HermiteExpansion e2, double rho)
    {
        var a = e1.coefficients;
        var b = e2.coefficients;
        int order = Math.Min(a.Length, b.Length) - 1;
        double k = 0, kd = 0;
        // Horner in ρ.
        for (int r = order; r >= 0; r--) k = k * rho + a[r] * b[r];
        for (int r = order; r >= 1; r--) kd = kd * rho + r * a[r] * b[r];
        kd /= Math.Sqrt(e1.Variance * e2.Variance);
        double power = Math.Pow(Math.Abs(rho), order + 1);
        double bound = Math.Sqrt(e1.Tail * e2.Tail) * power;
        double derivativeBound = Math.Sqrt(e1.DerivativeTail * e2.DerivativeTail) * (order == 0 ? 1 : Math.Pow(Math.Abs(rho), order));
        return (k, kd, bound, derivativeBound);
    }
}
