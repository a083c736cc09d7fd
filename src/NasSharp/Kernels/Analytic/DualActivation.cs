using NasSharp.Spaces;

namespace NasSharp.Kernels;

/// <summary>
/// The dual of an activation (Daniely et al. 2016): for (u, v) ~ N(0, [[q1, c], [c, q2]]) the three Gaussian
/// expectations one infinite-width layer needs, E[σ(u)σ(v)] (NNGP), E[σ'(u)σ'(v)] (tangent), and E[σ(u)]
/// (the mean, which skip connections carry forward). Closed forms where they exist (relu and leaky relu via the
/// arc-cosine kernel of Cho &amp; Saul 2009, erf via Williams 1997, identity), quadrature otherwise.
/// </summary>
public abstract class DualActivation
{
    private protected DualActivation(Activation activation) => Activation = activation;

    public Activation Activation { get; }

    /// <summary>True when <see cref="Evaluate"/> is an exact formula rather than numerical integration.</summary>
    public abstract bool IsClosedForm { get; }

    /// <summary>E[σ(√q z)], z ~ N(0,1).</summary>
    public abstract double Mean(double variance);

    /// <summary>(E[σ(u)σ(v)], E[σ'(u)σ'(v)]) for (u, v) ~ N(0, [[q1, c], [c, q2]]).</summary>
    public (double K, double Kd) Evaluate(double q1, double q2, double covariance)
    {
        if (!(q1 > 0) || !(q2 > 0) || !double.IsFinite(q1) || !double.IsFinite(q2))
            throw new ArgumentOutOfRangeException(nameof(q1), $"Variances must be positive and finite, got q1 = {q1}, q2 = {q2}.");
        if (!double.IsFinite(covariance)) throw new ArgumentOutOfRangeException(nameof(covariance), covariance, "The covariance must be finite.");
        return EvaluateCore(q1, q2, Correlation(q1, q2, covariance));
    }

    /// <summary>
    /// The dual over a whole covariance matrix Σ (N×N, symmetric, row-major): K = E[σσ], Kd = E[σ'σ'] entrywise and
    /// the mean E[σ(u)] of every input.
    /// </summary>
    public virtual (double[] K, double[] Kd, double[] Mean) EvaluateMatrix(double[] covariance, int n)
    {
        var q = Diagonal(covariance, n);
        var (k, kd) = FillSymmetric(n, (i, j) => EvaluateCore(q[i], q[j], Correlation(q[i], q[j], covariance[i * n + j])));
        return (k, kd, q.Select(Mean).ToArray());
    }

    /// <summary>Evaluates the upper triangle in parallel, then mirrors it block by block (cache-friendly).</summary>
    private protected static (double[] K, double[] Kd) FillSymmetric(int n, Func<int, int, (double K, double Kd)> pair)
    {
        var k = new double[n * n];
        var kd = new double[n * n];
        Parallel.For(0, n, i =>
        {
            for (int j = i; j < n; j++) (k[i * n + j], kd[i * n + j]) = pair(i, j);
        });
        const int block = 64;
        Parallel.For(0, (n + block - 1) / block, bi =>
        {
            int i0 = bi * block, i1 = Math.Min(n, i0 + block);
            for (int j0 = i0; j0 < n; j0 += block)
            {
                int j1 = Math.Min(n, j0 + block);
                for (int i = i0; i < i1; i++)
                    for (int j = Math.Max(j0, i + 1); j < j1; j++)
                    {
                        k[j * n + i] = k[i * n + j];
                        kd[j * n + i] = kd[i * n + j];
                    }
            }
        });
        return (k, kd);
    }

    /// <summary>The closed form where one exists, else the numerical dual.</summary>
    public static DualActivation For(Activation activation) => activation switch
    {
        Activation.Relu => new ArcCosineDual(Activation.Relu, 0),
        Activation.LeakyRelu => new ArcCosineDual(Activation.LeakyRelu, Activations.LeakyReluSlope),
        Activation.Erf => new ErfDual(),
        Activation.Identity => new IdentityDual(),
        _ when Enum.IsDefined(activation) => new NumericDual(activation),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation."),
    };

    /// <summary>The numerical dual even where a closed form exists: the closed forms test it.</summary>
    public static DualActivation Numeric(Activation activation) =>
        Enum.IsDefined(activation) ? new NumericDual(activation) : throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");

    /// <summary>The dual at correlation ρ = c/√(q1 q2), already clamped to [−1, 1].</summary>
    private protected abstract (double K, double Kd) EvaluateCore(double q1, double q2, double rho);

    private protected static double Correlation(double q1, double q2, double c) => Math.Clamp(c / Math.Sqrt(q1 * q2), -1, 1);

    private protected static double[] Diagonal(double[] covariance, int n)
    {
        ArgumentNullException.ThrowIfNull(covariance);
        if (n < 1 || covariance.Length != n * n)
            throw new ArgumentException($"A covariance of {n} inputs has {n * n} entries, got {covariance.Length}.", nameof(covariance));
        var q = new double[n];
        for (int i = 0; i < n; i++)
        {
            q[i] = covariance[i * n + i];
            if (!(q[i] > 0) || !double.IsFinite(q[i]))
                throw new ArgumentException($"Pre-activation variance of input {i} is {q[i]}; it must be positive and finite (a zero input with σ_b = 0 has none).", nameof(covariance));
        }
        return q;
    }
}

/// <summary>
/// σ(x) = max(x, αx) = αx + (1−α) relu(x). With the arc-cosine kernels of Cho &amp; Saul (2009, Eq. 6) at angle
/// φ = arccos ρ, E[relu(u)relu(v)] = √(q1q2)(sin φ + (π−φ) cos φ)/(2π) and E[1{u&gt;0}1{v&gt;0}] = (π−φ)/(2π); the
/// cross terms are E[u relu(v)] = c/2 and E[1{v&gt;0}] = 1/2, so E[σσ] = αc + (1−α)² k₁ and E[σ'σ'] = α + (1−α)² k₀.
/// </summary>
internal sealed class ArcCosineDual(Activation activation, double slope) : DualActivation(activation)
{
    public override bool IsClosedForm => true;

    public override double Mean(double variance) => (1 - slope) * Math.Sqrt(variance / (2 * Math.PI));

    private protected override (double K, double Kd) EvaluateCore(double q1, double q2, double rho)
    {
        double phi = Math.Acos(rho), s = Math.Sqrt(q1 * q2);
        double k1 = s * (Math.Sin(phi) + (Math.PI - phi) * rho) / (2 * Math.PI);
        double k0 = (Math.PI - phi) / (2 * Math.PI);
        double b = (1 - slope) * (1 - slope);
        return (slope * rho * s + b * k1, slope + b * k0);
    }
}

/// <summary>
/// Williams (1997, Eq. 11): E[erf(u)erf(v)] = (2/π) arcsin(2c/√((1+2q1)(1+2q2))); with erf'(x) = (2/√π)e^{−x²} and
/// the Gaussian integral E[e^{−u²−v²}] = det(I + 2Λ)^{−1/2}, E[erf'(u)erf'(v)] = (4/π)/√((1+2q1)(1+2q2) − 4c²).
/// </summary>
internal sealed class ErfDual() : DualActivation(Activation.Erf)
{
    public override bool IsClosedForm => true;

    public override double Mean(double variance) => 0;

    private protected override (double K, double Kd) EvaluateCore(double q1, double q2, double rho)
    {
        double c = rho * Math.Sqrt(q1 * q2), p = (1 + 2 * q1) * (1 + 2 * q2);
        return (2 / Math.PI * Math.Asin(2 * c / Math.Sqrt(p)), 4 / Math.PI / Math.Sqrt(p - 4 * c * c));
    }
}

internal sealed class IdentityDual() : DualActivation(Activation.Identity)
{
    public override bool IsClosedForm => true;

    public override double Mean(double variance) => 0;

    private protected override (double K, double Kd) EvaluateCore(double q1, double q2, double rho) => (rho * Math.Sqrt(q1 * q2), 1);
}

/// <summary>
/// Any activation by numerical integration: Mehler's series (<see cref="HermiteExpansion"/>) where its known remainder
/// is below <see cref="Tolerance"/>, polar quadrature split at the kinks (<see cref="GaussianQuadrature"/>) elsewhere.
/// Over a matrix whose inputs share one variance, the dual is a function of ρ alone and is tabulated once
/// (<see cref="CorrelationTable"/>); otherwise every pair is evaluated, with the expansions cached per variance.
/// </summary>
internal sealed class NumericDual(Activation activation) : DualActivation(activation)
{
    /// <summary>Relative error accepted from the truncated series before falling back to quadrature.</summary>
    public const double Tolerance = 1e-12;

    /// <summary>Inputs whose variances agree to this relative precision share one table.</summary>
    public const double EqualVarianceTolerance = 1e-12;

    public override bool IsClosedForm => false;

    public override double Mean(double variance) => HermiteExpansion.Of(Activation, variance, 0).Coefficients[0];

    private protected override (double K, double Kd) EvaluateCore(double q1, double q2, double rho)
    {
        var e1 = HermiteExpansion.Of(Activation, q1);
        var e2 = q1 == q2 ? e1 : HermiteExpansion.Of(Activation, q2);
        return Pair(e1, e2, rho);
    }

    internal (double K, double Kd) Pair(HermiteExpansion e1, HermiteExpansion e2, double rho)
    {
        if (rho == 1 && e1.Variance == e2.Variance) return (e1.SecondMoment, e1.DerivativeSecondMoment);
        var (k, kd, bound, derivativeBound) = HermiteExpansion.Mehler(e1, e2, rho);
        double scale = Math.Sqrt(e1.SecondMoment * e2.SecondMoment);
        double derivativeScale = Math.Sqrt(e1.DerivativeSecondMoment * e2.DerivativeSecondMoment);
        if (bound <= Tolerance * scale && derivativeBound <= Tolerance * derivativeScale) return (k, kd);
        return GaussianQuadrature.Bivariate(Activation, e1.Variance, e2.Variance, rho);
    }

    public override (double[] K, double[] Kd, double[] Mean) EvaluateMatrix(double[] covariance, int n)
    {
        var q = Diagonal(covariance, n);
        double qMin = q.Min(), qMax = q.Max();
        if (qMax - qMin <= EqualVarianceTolerance * qMax)
        {
            double qBar = q.Average();
            var table = CorrelationTable.Build(this, HermiteExpansion.Of(Activation, qBar, CorrelationTable.HermiteOrder));
            var (tk, tkd) = FillSymmetric(n, (i, j) => i == j ? table.AtOne : table.Interpolate(covariance[i * n + j] / qBar));
            return (tk, tkd, Enumerable.Repeat(table.Expansion.Coefficients[0], n).ToArray());
        }

        var expansions = q.Distinct().AsParallel().ToDictionary(v => v, v => HermiteExpansion.Of(Activation, v));
        var (k, kd) = FillSymmetric(n, (i, j) => Pair(expansions[q[i]], expansions[q[j]], i == j ? 1 : Correlation(q[i], q[j], covariance[i * n + j])));
        return (k, kd, q.Select(v => expansions[v].Coefficients[0]).ToArray());
    }
}

/// <summary>
/// The dual at one variance q as a function of the correlation, tabulated on G nodes uniform in
/// t ∈ [0, 1] with φ = arccos ρ = (π/2)(1 − cos πt). In φ the dual is analytic on [0, π] even where it is not in ρ
/// (relu: (1−ρ)^{3/2} = 2^{3/2} sin³(φ/2)); the map t ↦ φ clusters nodes at ρ = ±1, where large variances give the
/// tangent dual boundary layers of width ~1/√q. Six-point Lagrange interpolation in t has error ~1e-12 here.
/// </summary>
internal sealed class CorrelationTable
{
    public const int Nodes = 257;
    private const int Stencil = 6;

    /// <summary>
    /// One expansion serves all nodes, so it can afford a higher order than a per-pair one: at variance q the
    /// coefficients of a smooth σ(√q z) decay on a scale r ~ q, and order 384 lets Mehler's series replace the
    /// quadrature up to q ≈ 10. (Higher orders would overflow h_r(z) at the rule's largest |z|.)
    /// </summary>
    public const int HermiteOrder = 384;

    private readonly double[] k;
    private readonly double[] kd;

    private CorrelationTable(HermiteExpansion expansion, double[] k, double[] kd)
    {
        Expansion = expansion;
        this.k = k;
        this.kd = kd;
    }

    public HermiteExpansion Expansion { get; }

    /// <summary>The exact moments at ρ = 1.</summary>
    public (double K, double Kd) AtOne => (Expansion.SecondMoment, Expansion.DerivativeSecondMoment);

    public static CorrelationTable Build(NumericDual dual, HermiteExpansion expansion)
    {
        var k = new double[Nodes];
        var kd = new double[Nodes];
        Parallel.For(0, Nodes, j =>
        {
            double t = (double)j / (Nodes - 1);
            double rho = j == 0 ? 1 : j == Nodes - 1 ? -1 : Math.Cos(0.5 * Math.PI * (1 - Math.Cos(Math.PI * t)));
            (k[j], kd[j]) = dual.Pair(expansion, expansion, rho);
        });
        return new CorrelationTable(expansion, k, kd);
    }

    public (double K, double Kd) Interpolate(double rho)
    {
        rho = Math.Clamp(rho, -1, 1);
        double phi = Math.Acos(rho);
        double t = Math.Acos(Math.Clamp(1 - 2 * phi / Math.PI, -1, 1)) / Math.PI;
        double x = t * (Nodes - 1);
        int i0 = Math.Clamp((int)Math.Floor(x) - Stencil / 2 + 1, 0, Nodes - Stencil);
        double s = x - i0;
        // Lagrange weights on the nodes i0..i0+5 at offset s, by prefix/suffix products (no division by s − m).
        Span<double> pre = stackalloc double[Stencil + 1];
        Span<double> suf = stackalloc double[Stencil + 1];
        pre[0] = 1;
        for (int m = 0; m < Stencil; m++) pre[m + 1] = pre[m] * (s - m);
        suf[Stencil] = 1;
        for (int m = Stencil - 1; m >= 0; m--) suf[m] = suf[m + 1] * (s - m);
        double a = 0, b = 0;
        for (int m = 0; m < Stencil; m++)
        {
            double w = pre[m] * suf[m + 1] / Denominators[m];
            a += w * k[i0 + m];
            b += w * kd[i0 + m];
        }
        return (a, b);
    }

    // Π_{m≠k} (k − m) for k = 0..5: (−1)^{5−k} k! (5−k)!.
    private static readonly double[] Denominators = [-120, 24, -12, 12, -24, 120];
}
