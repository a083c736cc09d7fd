using System.Diagnostics;
using NasSharp.Kernels;
using NasSharp.Networks;
using NasSharp.Spaces;

namespace NasSharp.Theory;

/// <summary>One hidden layer as the theory sees it.</summary>
/// <param name="Layer">1-based layer index.</param>
/// <param name="Variance">q_l = Σ^l(x, x), the pre-activation variance on the sphere.</param>
/// <param name="Hermite">μ_0 … μ_{R} of the activation at unit variance (the coefficients of Zhu et al.'s bounds).</param>
/// <param name="HermiteAtVariance">a_0 … a_R at the layer's own variance, a_r = E[σ(√q z) h_r(z)] (what the bound composes).</param>
public sealed record LayerTheory(int Layer, Activation Activation, IReadOnlyList<int> Skips, double Variance,
    IReadOnlyList<double> Hermite, IReadOnlyList<double> HermiteAtVariance);

/// <summary>The theory quantities of one genotype on one batch (all of one logit's NTK, float64).</summary>
public sealed record TheoryReport(
    string Arch,
    int SampleCount,
    double SigmaW,
    double SigmaB,
    double LambdaMin,
    double LambdaMax,
    double Trace,
    double LowerBound,
    double UpperBound,
    double Complexity,
    double InverseComplexity,
    double GeneralizationTerm,
    double MaxInputCorrelation,
    double SeriesCapturedMass,
    IReadOnlyList<double> SeriesCoefficients,
    IReadOnlyList<LayerTheory> Layers,
    string? NonFiniteReason,
    double KernelSeconds,
    double Seconds)
{
    public bool IsFinite => NonFiniteReason is null;
}

/// <summary>
/// A space whose networks have an analytic infinite-width NTK: its genotypes can be scored by <see cref="NtkTheory"/>
/// without building a network (the eigen strategy's analytic, bound and complexity scores; <c>nas theory</c>).
/// </summary>
public interface IAnalyticNtkSpace
{
    TheoryReport Analyze(IGenotype genotype, SphereBatch data, NetworkOptions options);

    /// <summary>The infinite-width NTK and NNGP kernel of <paramref name="genotype"/> on N = <paramref name="count"/> inputs (row-major, N × d).</summary>
    AnalyticKernel Kernel(IGenotype genotype, double[] inputs, int count, NetworkOptions options);

    /// <summary>
    /// The kernels of many genotypes on the same inputs, each with its index in <paramref name="genotypes"/>, lazily and in
    /// an order of the space's choosing, so that it can share work between them (mlp: the input Gram, and common layers).
    /// </summary>
    IEnumerable<(int Index, AnalyticKernel Kernel)> Kernels(IReadOnlyList<IGenotype> genotypes, double[] inputs, int count, NetworkOptions options);
}

/// <summary>
/// The theory quantities of Zhu, Liu, Chrysos &amp; Cevher (NeurIPS 2022, arXiv 2209.07238) for a genotype without building a network: λ_min of the analytic NTK, its lower and
/// upper bound (<see cref="LambdaMinBounds"/>), the complexity yᵀΘ⁻¹y/N (<see cref="KernelComplexity"/>) and the
/// Hermite coefficients of each layer's activation. Inputs are projected onto the sphere ‖x‖² = d first
/// (<see cref="SphereBatch"/>), the setting the bounds are stated in.
/// </summary>
public static class NtkTheory
{
    /// <summary>How many Hermite coefficients per layer the report lists (the bound uses all R + 1).</summary>
    public const int ReportedHermiteCoefficients = 8;

    public static TheoryReport Analyze(MlpGenotype genotype, SphereBatch data, NetworkOptions options)
    {
        ArgumentNullException.ThrowIfNull(genotype);
        ArgumentNullException.ThrowIfNull(data);
        var (sigmaW, sigmaB) = AnalyticNtk.CheckOptions(options);
        var clock = Stopwatch.StartNew();
        var kernel = AnalyticNtk.FromInputGram(genotype, data.Gram, data.Count, options);
        double kernelSeconds = clock.Elapsed.TotalSeconds;
        var c = KernelComplexity.Compute(kernel.NtkArray(), data.Count, data.Labels, data.Classes);
        var bounds = LambdaMinBounds.Compute(genotype, options, data);
        var layers = genotype.Layers.Select((layer, i) =>
        {
            double q = bounds.Series.LayerVariances[i];
            return new LayerTheory(i + 1, layer.Activation, layer.Skips, q,
                HermiteExpansion.UnitCoefficients(layer.Activation, ReportedHermiteCoefficients),
                HermiteExpansion.Of(layer.Activation, q, ReportedHermiteCoefficients - 1).Coefficients);
        }).ToList();
        return new TheoryReport(genotype.Canonical, data.Count, sigmaW, sigmaB, c.LambdaMin, c.LambdaMax, c.Trace,
            bounds.Lower, bounds.Upper, c.Complexity, c.InverseComplexity, c.GeneralizationTerm, bounds.MaxCorrelation,
            bounds.Series.CapturedMass, bounds.Series.NtkCoefficients, layers, c.NonFiniteReason, kernelSeconds, clock.Elapsed.TotalSeconds);
    }
}
