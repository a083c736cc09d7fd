using NasSharp.Networks;
using NasSharp.Spaces;

namespace NasSharp.Kernels;

/// <summary>
/// For inputs on the sphere ‖x‖² = d the analytic NTK of a genotype is a dot-product kernel,
/// Θ(x, x') = F(t) = Σ_s θ_s t^s with t = xᵀx'/d and every θ_s ≥ 0 (a composition of Mehler series with non-negative
/// coefficients; Murray et al. 2022). This class computes θ_0 … θ_S and the exact F(1) = Θ(x, x) by the same
/// interpreter as <see cref="AnalyticNtk"/>, with kernels represented as truncated series instead of matrices.
/// </summary>
public sealed class NtkPowerSeries
{
    public const int DefaultDegree = 64;

    private NtkPowerSeries(MlpGenotype genotype, double[] ntk, double ntkAtOne, double[] nngp, double nngpAtOne, double[] variances)
    {
        Genotype = genotype;
        NtkCoefficients = ntk;
        NtkAtOne = ntkAtOne;
        NngpCoefficients = nngp;
        NngpAtOne = nngpAtOne;
        LayerVariances = variances;
    }

    public MlpGenotype Genotype { get; }

    /// <summary>θ_0 … θ_S: lower estimates of the true coefficients (higher Hermite orders are left out, never added).</summary>
    public IReadOnlyList<double> NtkCoefficients { get; }

    /// <summary>F(1) = Θ(x, x), exact (integrated, not summed from the series).</summary>
    public double NtkAtOne { get; }

    public IReadOnlyList<double> NngpCoefficients { get; }

    public double NngpAtOne { get; }

    /// <summary>q_l = Σ^l(x, x), the pre-activation variance of hidden layer l = 1..L on the sphere.</summary>
    public IReadOnlyList<double> LayerVariances { get; }

    /// <summary>Σ_s θ_s / F(1): the part of the kernel's diagonal the truncated series accounts for (≤ 1).</summary>
    public double CapturedMass => NtkCoefficients.Sum() / NtkAtOne;

    public static NtkPowerSeries Of(MlpGenotype genotype, NetworkOptions options, int degree = DefaultDegree, int hermiteOrder = HermiteExpansion.DefaultOrder)
    {
        ArgumentNullException.ThrowIfNull(genotype);
        var (sigmaW, sigmaB) = AnalyticNtk.CheckOptions(options);
        if (degree < 1 || degree > 1024) throw new ArgumentOutOfRangeException(nameof(degree), degree, "The series degree must be in 1..1024.");
        var variances = new double[genotype.Depth];
        var (nngp, ntk) = KernelInterpreter.Run(genotype, sigmaW, sigmaB, new SeriesAlgebra(degree, hermiteOrder),
            (l, sigma) => variances[l - 1] = sigma.AtOne);
        return new NtkPowerSeries(genotype, ntk.Coefficients, ntk.AtOne, nngp.Coefficients, nngp.AtOne, variances);
    }
}
