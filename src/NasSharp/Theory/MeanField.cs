using MathNet.Numerics.RootFinding;
using NasSharp.Kernels;
using NasSharp.Spaces;

namespace NasSharp.Theory;

/// <summary>Which side of the edge of chaos a point (σ_w², σ_b²) lies on.</summary>
public enum MeanFieldPhase
{
    /// <summary>χ₁ &lt; 1: nearby inputs converge (c* = 1 is stable), gradients vanish with depth.</summary>
    Ordered,
    /// <summary>χ₁ &gt; 1: nearby inputs decorrelate (a stable c* &lt; 1), gradients explode with depth.</summary>
    Chaotic,
    /// <summary>χ₁ = 1 to within 1e-9: the edge of chaos, where ξ_c diverges.</summary>
    Critical,
}

/// <summary>
/// The mean-field quantities of a deep fully connected network h^l = W^l φ(h^{l−1}) + b^l with W_ij ~ N(0, σ_w²/N),
/// b_i ~ N(0, σ_b²), at infinite width. A non-finite value is NaN or +∞ with the reason in the field beside it.
/// </summary>
/// <param name="Activation">The activation's token (as on the command line).</param>
/// <param name="QStar">The stable fixed point q* of the length map; +∞ when q grows without bound, NaN when every q is a fixed point.</param>
/// <param name="Chi1">χ₁ = σ_w² E[φ'(√q* z)²], the mean squared singular value of one layer's Jacobian (for q* = +∞ its q → ∞ limit).</param>
/// <param name="ChiQ">χ_q = ∂q^{l+1}/∂q^l at q*, the rate at which the length converges.</param>
/// <param name="XiQ">ξ_q = −1/ln χ_q, the depth over which the length forgets its input.</param>
/// <param name="CStar">The stable fixed point of the correlation map (1 in the ordered phase).</param>
/// <param name="ChiC">χ_c = σ_w² E[φ'(u₁)φ'(u₂)] at c*, the slope of the correlation map there (= χ₁ when c* = 1).</param>
/// <param name="XiC">ξ_c = −1/ln χ_c, the depth over which correlations reach c*; +∞ at the edge of chaos.</param>
public sealed record MeanFieldPoint(
    string Activation,
    double SigmaW2,
    double SigmaB2,
    double QStar,
    string? QStarReason,
    double Chi1,
    MeanFieldPhase Phase,
    double ChiQ,
    double XiQ,
    double CStar,
    string? CStarReason,
    double ChiC,
    double XiC);

/// <summary>A point of the edge of chaos: the σ_w² with χ₁ = 1 at a given σ_b², and q* there.</summary>
/// <param name="SigmaW2">The critical σ_w²; NaN when χ₁ does not reach 1 in the searched range; where χ₁ jumps over 1 instead
/// (the finite fixed point q* disappears, as for gelu), the σ_w² of the jump.</param>
/// <param name="Reason">Null for a continuous crossing χ₁ = 1; else what happened instead.</param>
/// <param name="QStar">q* at the critical point (+∞ for relu-like activations with σ_b² &gt; 0, whose length diverges there).</param>
public sealed record EdgeOfChaosPoint(double SigmaB2, double SigmaW2, double QStar, string? Reason);

/// <summary>χ₁ on a grid of (σ_w², σ_b²) and the edge of chaos through it, for one activation.</summary>
/// <param name="Chi1">Chi1[i][j] at σ_b² = SigmaB2[i], σ_w² = SigmaW2[j].</param>
public sealed record PhaseDiagram(string Activation, IReadOnlyList<double> SigmaW2, IReadOnlyList<double> SigmaB2,
    IReadOnlyList<IReadOnlyList<double>> Chi1, IReadOnlyList<EdgeOfChaosPoint> EdgeOfChaos);

/// <summary>
/// Mean-field signal propagation (Poole, Lahiri, Raghu, Sohl-Dickstein &amp; Ganguli, NeurIPS 2016; Schoenholz, Gilmer,
/// Ganguli &amp; Sohl-Dickstein, ICLR 2017) for one activation φ, in float64.
/// </summary>
/// <remarks>
/// <para>Luo, Hu, Pang, Huang &amp; Liu (arXiv 2307.02263) build their fair supernet on "the fix point analysis method in the
/// mean field theory"; their exact statements could not be read here (abstract only), so this class implements the standard
/// results they build on, and the names follow Poole et al. and Schoenholz et al.</para>
/// <para>Gaussian expectations E_z[f(√q z)] use the composite rule of <see cref="GaussianQuadrature.NormalRule"/> (Gauss–Legendre
/// panels under the normal density, split at the kink z = 0 and graded toward it as q grows) rather than a plain
/// Gauss–Hermite rule: relu's φ' is a step, on which Gauss–Hermite converges only algebraically, and tanh(√q z) has poles at
/// distance π/(2√q) from the real axis, which slows Gauss–Hermite at large q. The tests check the smooth cases against a
/// 200-point Gauss–Hermite rule and relu against its closed forms. The bivariate expectations of the correlation map are
/// <see cref="DualActivation"/>'s (closed forms for relu, leaky relu, erf and identity).</para>
/// </remarks>
public sealed class MeanField
{
    /// <summary>Largest q searched for the length fixed point; beyond it q* is reported as +∞.</summary>
    public const double MaxLength = 1e12;

    /// <summary>Where χ₁ of a length that grows without bound is evaluated (its q → ∞ limit to ~1e-6 for every activation here).</summary>
    private const double LargeLength = 1e12;

    private const int RuleOrder = 2;

    private readonly DualActivation dual;

    public MeanField(Activation activation)
    {
        if (!Enum.IsDefined(activation)) throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        Activation = activation;
        dual = DualActivation.For(activation);
    }

    public Activation Activation { get; }

    /// <summary>Gaussian moments of φ at variance q: E[φ²], E[φ'²], E[φ'⁴] and E[φ'² + φφ''] (by Stein's lemma, E[zφφ']/√q).</summary>
    public readonly record struct Moments(double Phi2, double Dphi2, double Dphi4, double Stein);

    /// <summary>The moments of φ(√q z), z ~ N(0, 1).</summary>
    public Moments At(double q)
    {
        if (!(q >= 0) || !double.IsFinite(q)) throw new ArgumentOutOfRangeException(nameof(q), q, "A variance is finite and non-negative.");
        if (q == 0)
        {
            // E[φ(0)²] exactly (the length map's value at 0 decides whether q* = 0), the derivative moments as their q → 0⁺
            // limits, taken at a tiny q: relu's φ' jumps at 0, and the Stein form's limit φ'(0)² + φ(0)φ''(0) needs no φ''.
            double f0 = Activation.Evaluate(0);
            var limit = At(1e-24);
            return limit with { Phi2 = f0 * f0 };
        }
        double v = q, s = Math.Sqrt(v);
        var (z, w) = GaussianQuadrature.NormalRule(v, RuleOrder);
        double phi2 = 0, d2 = 0, d4 = 0, stein = 0;
        for (int i = 0; i < z.Length; i++)
        {
            double f = GaussianQuadrature.ValueAndDerivative(Activation, s * z[i], out double d);
            phi2 += w[i] * f * f;
            d2 += w[i] * d * d;
            d4 += w[i] * d * d * d * d;
            stein += w[i] * z[i] * f * d;
        }
        return new Moments(phi2, d2, d4, stein / s);
    }

    /// <summary>The length map q ↦ σ_w² E_z[φ(√q z)²] + σ_b² (Poole et al. 2016, the iterative map of the squared length per neuron).</summary>
    public double LengthMap(double q, double sigmaW2, double sigmaB2) => sigmaW2 * At(q).Phi2 + sigmaB2;

    /// <summary>
    /// The stable fixed point q* of the length map: the first downward crossing of L(q) − q from q = 0 (where L(0) − 0 =
    /// σ_w²φ(0)² + σ_b² ≥ 0), so the point that iterating the map from a small length reaches. +∞ when L(q) &gt; q up to
    /// <see cref="MaxLength"/> (relu-like activations with σ_w² above their critical value); NaN when L(q) = q for every q
    /// (a homogeneous activation with σ_b² = 0 exactly at criticality: every length is preserved).
    /// </summary>
    public (double QStar, string? Reason) LengthFixedPoint(double sigmaW2, double sigmaB2)
    {
        CheckVariances(sigmaW2, sigmaB2);
        double G(double q) => LengthMap(q, sigmaW2, sigmaB2) - q;
        double g0 = G(0);
        double lo = 0;
        bool marginal = g0 == 0;
        for (double q = 1e-12; q <= MaxLength * 1.0001; q *= 16)
        {
            double g = G(q);
            // |L(q) − q| within rounding of q: the map preserves this length (relu at σ_w² = 2, σ_b² = 0).
            bool flat = Math.Abs(g) <= 1e-12 * q;
            if (!flat) marginal = false;
            if (g < 0 && !flat)
            {
                if (g0 == 0 && lo == 0) return (0, null); // φ(0) = 0, σ_b = 0 and a contracting map: every length dies out
                return (Root(G, lo, q, 1e-14 * q), null);
            }
            lo = q;
        }
        if (marginal) return (double.NaN, "the length map is the identity: every q is a fixed point (σ_b² = 0 and exactly critical σ_w²)");
        return (double.PositiveInfinity, $"the length map has no fixed point up to q = {MaxLength:G3}: the pre-activation variance grows without bound with depth");
    }

    /// <summary>χ₁ = σ_w² E_z[φ'(√q* z)²] at the stable length (Poole et al. 2016; Schoenholz et al. 2017, ordered for χ₁ &lt; 1, chaotic for χ₁ &gt; 1).</summary>
    public double Chi1(double sigmaW2, double sigmaB2)
    {
        var (q, _) = LengthFixedPoint(sigmaW2, sigmaB2);
        return Chi1At(q, sigmaW2);
    }

    /// <summary>The correlation map c ↦ (σ_w² E[φ(u₁)φ(u₂)] + σ_b²)/q*, (u₁, u₂) ~ N(0, q*[[1, c], [c, 1]]) (Poole et al. 2016), and its slope σ_w² E[φ'(u₁)φ'(u₂)].</summary>
    public (double Value, double Slope) CorrelationMap(double c, double qStar, double sigmaW2, double sigmaB2)
    {
        if (!(qStar > 0) || !double.IsFinite(qStar)) throw new ArgumentOutOfRangeException(nameof(qStar), qStar, "The correlation map needs a finite positive q*.");
        // The map's own output may exceed 1 by rounding.
        if (!(Math.Abs(c) <= 1 + 1e-12)) throw new ArgumentOutOfRangeException(nameof(c), c, "A correlation lies in [−1, 1].");
        var (k, kd) = dual.Evaluate(qStar, qStar, Math.Clamp(c, -1, 1) * qStar);
        return ((sigmaW2 * k + sigmaB2) / qStar, sigmaW2 * kd);
    }

    /// <summary>Every mean-field quantity of (σ_w², σ_b²): q*, χ₁, the phase, χ_q and ξ_q, c*, χ_c and ξ_c.</summary>
    public MeanFieldPoint Analyze(double sigmaW2, double sigmaB2)
    {
        var (q, qReason) = LengthFixedPoint(sigmaW2, sigmaB2);
        double chi1 = Chi1At(q, sigmaW2);
        var phase = Math.Abs(chi1 - 1) <= 1e-9 ? MeanFieldPhase.Critical : chi1 < 1 ? MeanFieldPhase.Ordered : MeanFieldPhase.Chaotic;
        // χ_q = ∂L/∂q at q* = σ_w² E[φ'² + φφ''] (differentiate the length map, then Stein's lemma); ξ_q = −1/ln χ_q
        // (Schoenholz et al. 2017, the depth scale of the length).
        double chiQ = double.IsFinite(q) ? sigmaW2 * At(q).Stein : double.NaN;
        double xiQ = DepthScale(chiQ);
        if (!(q > 0) || !double.IsFinite(q))
        {
            string why = qReason ?? "q* = 0: every input is mapped to the same point (the zero vector), so correlations are undefined";
            return new MeanFieldPoint(Activation.Token(), sigmaW2, sigmaB2, q, qReason, chi1, phase, chiQ, xiQ, double.NaN, why, double.NaN, double.NaN);
        }
        // c* = 1 is always a fixed point (C(1) = L(q*)/q* = 1); it is stable iff its slope χ₁ ≤ 1. In the chaotic phase the
        // stable fixed point is the largest c* < 1 (Poole et al. 2016; Schoenholz et al. 2017: ξ_c = −1/ln χ_c with χ_c the
        // slope at c*, which diverges as χ₁ → 1).
        double cStar = 1, chiC = chi1;
        string? cReason = null;
        if (chi1 > 1)
        {
            (cStar, cReason) = CorrelationFixedPoint(q, sigmaW2, sigmaB2);
            chiC = double.IsFinite(cStar) ? CorrelationMap(cStar, q, sigmaW2, sigmaB2).Slope : double.NaN;
        }
        return new MeanFieldPoint(Activation.Token(), sigmaW2, sigmaB2, q, qReason, chi1, phase, chiQ, xiQ, cStar, cReason, chiC, DepthScale(chiC));
    }

    /// <summary>
    /// The edge of chaos at σ_b²: the smallest σ_w² in [<paramref name="minSigmaW2"/>, <paramref name="maxSigmaW2"/>] with
    /// χ₁ = 1, found by a scan of <paramref name="scan"/> geometrically spaced σ_w² and Brent's method on the first sign change.
    /// </summary>
    public EdgeOfChaosPoint EdgeOfChaos(double sigmaB2, double minSigmaW2 = 0.05, double maxSigmaW2 = 100, int scan = 40)
    {
        var grid = Geometric(minSigmaW2, maxSigmaW2, scan);
        return CriticalOnRow(sigmaB2, grid, [.. grid.Select(w => Chi1(w, sigmaB2))]);
    }

    /// <summary>χ₁ over a grid and the edge of chaos through every row of it (the phase diagram).</summary>
    public PhaseDiagram Phases(IReadOnlyList<double> sigmaW2, IReadOnlyList<double> sigmaB2)
    {
        ArgumentNullException.ThrowIfNull(sigmaW2);
        ArgumentNullException.ThrowIfNull(sigmaB2);
        if (sigmaW2.Count < 2 || sigmaW2.Zip(sigmaW2.Skip(1)).Any(p => !(p.Second > p.First)))
            throw new ArgumentException("The σ_w² grid needs at least two increasing values.", nameof(sigmaW2));
        var rows = new List<IReadOnlyList<double>>();
        var edge = new List<EdgeOfChaosPoint>();
        foreach (double b in sigmaB2)
        {
            double[] row = [.. sigmaW2.Select(w => Chi1(w, b))];
            rows.Add(row);
            edge.Add(CriticalOnRow(b, sigmaW2, row));
        }
        return new PhaseDiagram(Activation.Token(), sigmaW2, sigmaB2, rows, edge);
    }

    /// <summary><paramref name="count"/> values from <paramref name="from"/> to <paramref name="to"/>, equally spaced in log.</summary>
    public static double[] Geometric(double from, double to, int count)
    {
        if (!(from > 0) || !(to > from) || count < 2) throw new ArgumentException($"A geometric grid needs 0 < from < to and at least 2 points; got {from}, {to}, {count}.");
        return [.. Enumerable.Range(0, count).Select(i => from * Math.Pow(to / from, i / (double)(count - 1)))];
    }

    private EdgeOfChaosPoint CriticalOnRow(double sigmaB2, IReadOnlyList<double> sigmaW2, IReadOnlyList<double> chi1)
    {
        for (int j = 0; j + 1 < sigmaW2.Count; j++)
        {
            if (chi1[j] == 1) return AtCritical(sigmaB2, sigmaW2[j]);
            if ((chi1[j] - 1) * (chi1[j + 1] - 1) < 0)
                return AtCritical(sigmaB2, Root(w => Chi1(w, sigmaB2) - 1, sigmaW2[j], sigmaW2[j + 1], 1e-13 * sigmaW2[j + 1]));
        }
        return new EdgeOfChaosPoint(sigmaB2, double.NaN, double.NaN,
            $"χ₁ does not cross 1 for σ_w² in [{sigmaW2[0]:G3}, {sigmaW2[^1]:G3}] (from {chi1[0]:G3} to {chi1[^1]:G3})");
    }

    private EdgeOfChaosPoint AtCritical(double sigmaB2, double sigmaW2)
    {
        // χ₁ may jump over 1 where the stable length q* vanishes into infinity (a saddle-node of the length map, e.g. gelu,
        // whose map can keep a finite fixed point a little beyond σ_w² = 2): then no σ_w² has χ₁ = 1.
        double below = Chi1(sigmaW2 * (1 - 1e-7), sigmaB2), above = Chi1(sigmaW2 * (1 + 1e-7), sigmaB2);
        string? jump = Math.Abs(above - below) > 1e-4
            ? $"χ₁ jumps from {below:G4} to {above:G4} here, where the finite fixed point q* disappears: no σ_w² has χ₁ = 1"
            : null;
        return new(sigmaB2, sigmaW2, LengthFixedPoint(sigmaW2, sigmaB2).QStar, jump);
    }

    private double Chi1At(double q, double sigmaW2) =>
        // A length that grows without bound: the q → ∞ limit (relu-like activations, whose χ₁ is then σ_w² E[φ'(z)²] of the
        // linear part); every q preserved (NaN): a homogeneous φ, whose E[φ'²] does not depend on q.
        sigmaW2 * At(double.IsPositiveInfinity(q) ? LargeLength : double.IsNaN(q) ? 1 : q).Dphi2;

    private (double CStar, string? Reason) CorrelationFixedPoint(double q, double sigmaW2, double sigmaB2)
    {
        double G(double c) => CorrelationMap(c, q, sigmaW2, sigmaB2).Value - c;
        // Scan 1 − c geometrically from 2 (c = −1) down to 1e-10 for the sign change closest to c = 1: just below 1,
        // G < 0 because the slope there is χ₁ > 1.
        double prevC = 1 - 1e-10, prev = G(prevC);
        for (double gap = 2e-10; gap <= 2.0001; gap *= 2)
        {
            double c = Math.Max(-1, 1 - gap), g = G(c);
            if (prev < 0 && g >= 0) return (g == 0 ? c : Root(G, c, prevC, 1e-13), null);
            (prevC, prev) = (c, g);
        }
        return (double.NaN, "the correlation map has no fixed point below 1 although χ₁ > 1");
    }

    /// <summary>
    /// A root of f in [lo, hi], where f changes sign, by Brent's method; where Brent's stopping rule cannot be met (f computed
    /// by quadrature is only smooth to rounding, which can stall it near the root) by bisection, which always converges.
    /// </summary>
    private static double Root(Func<double, double> f, double lo, double hi, double accuracy)
    {
        if (Brent.TryFindRoot(f, lo, hi, accuracy, 200, out double root)) return root;
        double flo = f(lo);
        for (int i = 0; i < 200 && hi - lo > accuracy; i++)
        {
            double mid = 0.5 * (lo + hi), fmid = f(mid);
            if (fmid == 0) return mid;
            if (Math.Sign(fmid) == Math.Sign(flo)) (lo, flo) = (mid, fmid);
            else hi = mid;
        }
        return 0.5 * (lo + hi);
    }

    /// <summary>−1/ln χ for a contraction (0 &lt; χ &lt; 1); +∞ at χ = 1 (the scale diverges at criticality); NaN otherwise.</summary>
    private static double DepthScale(double chi) => chi == 1 ? double.PositiveInfinity : chi > 0 && chi < 1 ? -1 / Math.Log(chi) : double.NaN;

    private static void CheckVariances(double sigmaW2, double sigmaB2)
    {
        if (!(sigmaW2 > 0) || !double.IsFinite(sigmaW2)) throw new ArgumentOutOfRangeException(nameof(sigmaW2), sigmaW2, "σ_w² must be positive and finite.");
        if (!(sigmaB2 >= 0) || !double.IsFinite(sigmaB2)) throw new ArgumentOutOfRangeException(nameof(sigmaB2), sigmaB2, "σ_b² must be non-negative and finite.");
    }
}
