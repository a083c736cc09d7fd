using MathNet.Numerics.Integration;
using NasSharp.Spaces;

namespace NasSharp.Kernels;

/// <summary>
/// Gaussian expectations of activations by composite Gauss–Legendre quadrature. Every activation here is smooth
/// except at 0 (relu, leaky relu, elu), so the rules put panel boundaries exactly on the kinks, where a plain
/// Gauss–Hermite rule would converge only algebraically. For large variances q, σ(√q z) changes on a scale 1/√q
/// around the kink; the panels are graded geometrically toward it, so the error does not grow with q
/// (checked against the closed forms of relu and erf up to q = 10⁶ in the tests).
/// </summary>
internal static class GaussianQuadrature
{
    /// <summary>
    /// Nodes per panel of the univariate rule: 10 on panels of width 1/4 integrate h_r up to r = 384 (≈ 2 zeros per
    /// panel) to ~1e-13.
    /// </summary>
    private const int LinePanelOrder = 10;

    /// <summary>Nodes per panel of the bivariate rule: 8 gives ≤ 1e-9 relative error on every activation's dual (≤ 1e-12 on most).</summary>
    private const int PanelOrder = 8;

    private static readonly GaussLegendreRule LinePanel = new(0, 1, LinePanelOrder);
    private static readonly GaussLegendreRule Panel = new(0, 1, PanelOrder);

    // Radial panels beyond r = 1: the weight r·e^{−r²/2} is below 1e-17 past r = 9.
    private static readonly double[] OuterRadii = [1, 2, 3, 4.5, 6.5, 9];

    /// <summary>
    /// A rule for E[f(z)], z ~ N(0,1), split at 0: returns nodes z_i and weights w_i (the density included), so that
    /// E[f(z)] ≈ Σ w_i f(z_i) for f smooth on each half-line. Panels of width 1/4 resolve polynomials times
    /// Hermite functions up to degree <paramref name="order"/>; near 0 they are graded down to 1/(2√q).
    /// </summary>
    /// <remarks>The rule depends on the variance only through how often the panel at 0 is halved, so rules are cached by
    /// that count and the order: callers share the arrays and must not change them (the mean-field solvers call this
    /// thousands of times).</remarks>
    public static (double[] Z, double[] W) NormalRule(double variance, int order)
    {
        var finest = Graded(0.5, 0.5 / Math.Max(1, Math.Sqrt(variance)));
        return NormalRules.GetOrAdd((finest.Count, order), key => BuildNormalRule(finest, key.Order));
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(int Breaks, int Order), (double[] Z, double[] W)> NormalRules = new();

    private static (double[] Z, double[] W) BuildNormalRule(List<double> graded, int order)
    {
        double zMax = Math.Sqrt(4.0 * order + 2) + 10; // past the turning point of h_order, φ(z) h_r(z)² is negligible
        var breaks = new List<double>(graded);
        for (double b = 0.75; b < zMax + 0.125; b += 0.25) breaks.Add(b);
        var z = new List<double>();
        var w = new List<double>();
        foreach (var sign in new[] { -1.0, 1.0 })
            for (int p = 0; p + 1 < breaks.Count; p++)
            {
                double lo = breaks[p], len = breaks[p + 1] - lo;
                for (int k = 0; k < LinePanelOrder; k++)
                {
                    double x = lo + len * LinePanel.Abscissas[k];
                    z.Add(sign * x);
                    w.Add(len * LinePanel.Weights[k] * Math.Exp(-0.5 * x * x) / Math.Sqrt(2 * Math.PI));
                }
            }
        return (z.ToArray(), w.ToArray());
    }

    /// <summary>
    /// (E[σ(u)σ(v)], E[σ'(u)σ'(v)]) for (u, v) ~ N(0, [[q1, c], [c, q2]]), c = ρ√(q1 q2).
    /// </summary>
    /// <remarks>
    /// In polar coordinates of the standard normal pair z = r(cos θ, sin θ): u = r√q1 cos θ, v = r√q2 cos(θ − φ) with
    /// cos φ = ρ, so E[f(u)g(v)] = (1/2π) ∫dθ ∫ r e^{−r²/2} f(u) g(v) dr. The kinks u = 0 and v = 0 are the four rays
    /// θ = ±π/2 and θ = φ ± π/2: on each of the four arcs between them the integrand is smooth in (r, θ).
    /// </remarks>
    public static (double K, double Kd) Bivariate(Activation activation, double q1, double q2, double rho)
    {
        rho = Math.Clamp(rho, -1, 1);
        double phi = Math.Acos(rho);
        double a1 = Math.Sqrt(q1), a2 = Math.Sqrt(q2), scale = Math.Max(a1, a2);

        var rBreaks = scale > 1 ? Graded(0.5, 0.5 / scale) : [0, 0.5];
        rBreaks.AddRange(OuterRadii);
        int nr = (rBreaks.Count - 1) * PanelOrder;
        var r = new double[nr];
        var wr = new double[nr];
        for (int p = 0, i = 0; p + 1 < rBreaks.Count; p++)
        {
            double lo = rBreaks[p], len = rBreaks[p + 1] - lo;
            for (int k = 0; k < PanelOrder; k++, i++)
            {
                r[i] = lo + len * Panel.Abscissas[k];
                wr[i] = len * Panel.Weights[k] * r[i] * Math.Exp(-0.5 * r[i] * r[i]);
            }
        }

        var fu = new double[nr];
        var du = new double[nr];
        var fv = new double[nr];
        var dv = new double[nr];
        double k2 = 0, kd = 0;
        // Arcs between the kink rays −π/2, φ−π/2, π/2, φ+π/2, 3π/2 (lengths φ, π−φ, φ, π−φ).
        ReadOnlySpan<double> rays = [-Math.PI / 2, phi - Math.PI / 2, Math.PI / 2, phi + Math.PI / 2, 1.5 * Math.PI];
        for (int arc = 0; arc < 4; arc++)
        {
            double lo = rays[arc], len = rays[arc + 1] - lo;
            if (len <= 0) continue;
            // Both ends of an arc are kink rays: grade toward each when σ(√q ·) varies faster than the arc.
            var half = scale * len > 2 ? Graded(len / 2, 0.5 / scale) : [0, len / 2];
            var thetaBreaks = new List<double>(2 * half.Count);
            foreach (var x in half) thetaBreaks.Add(lo + x);
            for (int k = half.Count - 2; k >= 0; k--) thetaBreaks.Add(lo + len - half[k]);
            for (int p = 0; p + 1 < thetaBreaks.Count; p++)
            {
                double tlo = thetaBreaks[p], tlen = thetaBreaks[p + 1] - tlo;
                for (int j = 0; j < PanelOrder; j++)
                {
                    double theta = tlo + tlen * Panel.Abscissas[j], wt = tlen * Panel.Weights[j];
                    double cu = a1 * Math.Cos(theta), cv = a2 * Math.Cos(theta - phi);
                    for (int i = 0; i < nr; i++)
                    {
                        fu[i] = ValueAndDerivative(activation, r[i] * cu, out du[i]);
                        fv[i] = ValueAndDerivative(activation, r[i] * cv, out dv[i]);
                    }
                    double sk = 0, skd = 0;
                    for (int i = 0; i < nr; i++)
                    {
                        sk += wr[i] * fu[i] * fv[i];
                        skd += wr[i] * du[i] * dv[i];
                    }
                    k2 += wt * sk;
                    kd += wt * skd;
                }
            }
        }
        return (k2 / (2 * Math.PI), kd / (2 * Math.PI));
    }

    /// <summary>
    /// σ(x) and σ'(x) sharing their transcendental (the inner loop of <see cref="Bivariate"/> spends its time here).
    /// Must agree with <see cref="Activations.Evaluate"/> and <see cref="Activations.Derivative"/>; a test checks it.
    /// </summary>
    internal static double ValueAndDerivative(Activation activation, double x, out double derivative)
    {
        switch (activation)
        {
            case Activation.Tanh:
            {
                double t = Math.Tanh(x);
                derivative = 1 - t * t;
                return t;
            }
            case Activation.Sigmoid:
            {
                double s = 1 / (1 + Math.Exp(-x));
                derivative = s * (1 - s);
                return s;
            }
            case Activation.Swish:
            {
                double s = 1 / (1 + Math.Exp(-x));
                derivative = s * (1 + x * (1 - s));
                return x * s;
            }
            case Activation.Softplus:
            {
                double e = Math.Exp(-Math.Abs(x));
                derivative = x >= 0 ? 1 / (1 + e) : e / (1 + e);
                return activation.Evaluate(x);
            }
            case Activation.Gelu:
            {
                double cdf = 0.5 * (1 + MathNet.Numerics.SpecialFunctions.Erf(x / Math.Sqrt(2)));
                derivative = cdf + x * Math.Exp(-0.5 * x * x) / Math.Sqrt(2 * Math.PI);
                return x * cdf;
            }
            case Activation.Elu:
            {
                if (x >= 0) { derivative = 1; return x; }
                double e = Math.Exp(x);
                derivative = e;
                return e - 1;
            }
            default:
                derivative = activation.Derivative(x);
                return activation.Evaluate(x);
        }
    }

    /// <summary>Breakpoints 0 &lt; … &lt; L/4 &lt; L/2 &lt; L, halving from L toward 0 until a panel is shorter than <paramref name="finest"/>.</summary>
    private static List<double> Graded(double length, double finest)
    {
        var b = new List<double> { length };
        double x = length / 2;
        while (x > finest) { b.Add(x); x /= 2; }
        b.Add(x);
        b.Add(0);
        b.Reverse();
        return b;
    }
}
