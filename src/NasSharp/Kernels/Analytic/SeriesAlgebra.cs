using NasSharp.Spaces;

namespace NasSharp.Kernels;

/// <summary>
/// A dot-product kernel k(t) = Σ_s c_s t^s in the input correlation t = xᵀx'/d, truncated at a degree S, together
/// with its exact value at t = 1 (the kernel's diagonal). Every coefficient the interpreter produces is a sum of
/// non-negative terms, so truncation only drops mass: the stored c_s never exceed the true ones.
/// </summary>
internal sealed record PowerSeries(double[] Coefficients, double AtOne);

/// <summary>
/// Kernels as power series in t for inputs on the sphere ‖x‖² = d, where every layer's variance is one number and
/// the kernel is a function of t alone (Murray, Jin, Bowman &amp; Montúfar 2022, arXiv 2211.07844: the NTK as a power
/// series whose coefficients come from the Hermite coefficients of the activations). Means are scalars.
/// </summary>
/// <remarks>
/// The dual step is Mehler's formula composed with the incoming series: with ρ(t) = Σ(t)/q,
/// Cov[σ(u), σ(v)] = Σ_{r=1}^{R} a_r(q)² ρ(t)^r and E[σ'σ'] = Σ_{r=1}^{R} r a_r(q)² ρ(t)^{r−1}/q. ρ has non-negative
/// coefficients, so every power does too; the variance q is the exact diagonal, not the truncated series at 1.
/// </remarks>
internal sealed class SeriesAlgebra(int degree, int hermiteOrder) : IKernelAlgebra<PowerSeries, double>
{
    public int Degree { get; } = degree;

    public PowerSeries Input => new(Monomial(1), 1);

    public PowerSeries Zero => new(new double[Degree + 1], 0);

    public double ZeroMean => 0;

    public double AddScaled(double a, double b, double s) => a + s * b;

    public PowerSeries Combine(IReadOnlyList<(PowerSeries Kernel, double Scale)> terms, double outer, double outerScale, double shift)
    {
        var c = new double[Degree + 1];
        double atOne = shift + outerScale * outer * outer;
        c[0] = atOne;
        foreach (var (k, s) in terms)
        {
            for (int i = 0; i <= Degree; i++) c[i] += s * k.Coefficients[i];
            atOne += s * k.AtOne;
        }
        return new(c, atOne);
    }

    public (PowerSeries Centered, PowerSeries Tangent, double Mean) Activate(Activation activation, PowerSeries covariance, PowerSeries tangent)
    {
        double q = covariance.AtOne;
        var e = HermiteExpansion.Of(activation, q, hermiteOrder);
        var a = e.Coefficients;
        var rho = covariance.Coefficients.Select(c => c / q).ToArray();
        var centered = new double[Degree + 1];
        var derivative = new double[Degree + 1];
        var power = Monomial(0); // ρ^{r−1}
        for (int r = 1; r <= e.Order; r++)
        {
            double a2 = a[r] * a[r];
            for (int i = 0; i <= Degree; i++) derivative[i] += r * a2 / q * power[i];
            power = Multiply(power, rho);
            for (int i = 0; i <= Degree; i++) centered[i] += a2 * power[i];
        }
        return (new(centered, e.SecondMoment - a[0] * a[0]),
                new(Multiply(derivative, tangent.Coefficients), e.DerivativeSecondMoment * tangent.AtOne),
                a[0]);
    }

    private double[] Monomial(int power)
    {
        var c = new double[Degree + 1];
        if (power <= Degree) c[power] = 1;
        return c;
    }

    /// <summary>Cauchy product truncated at the degree.</summary>
    private double[] Multiply(double[] a, double[] b)
    {
        var c = new double[Degree + 1];
        for (int i = 0; i <= Degree; i++)
        {
            if (a[i] == 0) continue;
            for (int j = 0; i + j <= Degree; j++) c[i + j] += a[i] * b[j];
        }
        return c;
    }
}
