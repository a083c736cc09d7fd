using NasSharp.Networks;
using NasSharp.Spaces;
using TorchSharp;

namespace NasSharp.Kernels;

/// <summary>
/// The infinite-width NTK and NNGP kernel of an <see cref="MlpGenotype"/> in the NTK parameterisation
/// (Jacot et al. 2018; Lee et al. 2019), computed from the genotype alone: no network is built. The empirical NTK of
/// the same genotype built by <see cref="ISearchSpace.BuildNetwork"/> with <see cref="NetworkOptions.Ntk"/> converges to it as the
/// width grows (per logit; a sum over K logits converges to K·Θ).
/// </summary>
public static class AnalyticNtk
{
    /// <summary>Θ and the NNGP kernel on N inputs.</summary>
    /// <param name="inputs">x_1 … x_N row-major, N × d, as the network sees them (flattened).</param>
    /// <param name="count">N.</param>
    /// <param name="options">Must be the NTK parameterisation; its σ_w and σ_b are used (the dtype is not: the kernel is float64).</param>
    public static AnalyticKernel Compute(MlpGenotype genotype, double[] inputs, int count, NetworkOptions options) =>
        OnInputs(inputs, count, options).Compute(genotype);

    /// <summary>
    /// Θ and the NNGP kernel from the input Gram G = XXᵀ/d (the first layer sees the inputs only through it):
    /// use this to evaluate the kernel at chosen correlations, e.g. a 2×2 Gram [[1, t], [t, 1]].
    /// </summary>
    public static AnalyticKernel FromInputGram(MlpGenotype genotype, double[] inputGram, int count, NetworkOptions options) =>
        new AnalyticNtkBatch(inputGram, count, options).Compute(genotype);

    /// <summary>
    /// The kernels of many genotypes on the same N inputs (<see cref="AnalyticNtkBatch"/>): the input Gram is computed once,
    /// and a genotype's first layers are shared with the previous genotype's where they agree.
    /// </summary>
    public static AnalyticNtkBatch OnInputs(double[] inputs, int count, NetworkOptions options)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "Need at least one input.");
        if (inputs.Length == 0 || inputs.Length % count != 0)
            throw new ArgumentException($"{inputs.Length} input values do not split into {count} inputs of equal dimension.", nameof(inputs));
        return new AnalyticNtkBatch(InputGram(inputs, count), count, options);
    }

    /// <summary>G = XXᵀ/d in float64, the covariance the first layer's pre-activations inherit (Σ¹ = σ_w² G + σ_b²).</summary>
    public static double[] InputGram(double[] inputs, int count)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (count < 1 || inputs.Length == 0 || inputs.Length % count != 0)
            throw new ArgumentException($"{inputs.Length} input values do not split into {count} inputs of equal dimension.", nameof(inputs));
        int d = inputs.Length / count;
        foreach (var v in inputs)
            if (!double.IsFinite(v)) throw new ArgumentException("The inputs contain NaN or ±Inf.", nameof(inputs));
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(inputs, new long[] { count, d }, dtype: torch.ScalarType.Float64);
        return x.mm(x.t()).div_(d).data<double>().ToArray();
    }

    internal static (double SigmaW, double SigmaB) CheckOptions(NetworkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Parameterization != Parameterization.Ntk)
            throw new ArgumentException("The analytic kernel describes the NTK parameterisation; pass NetworkOptions.Ntk(σ_w, σ_b).", nameof(options));
        if (!(options.SigmaW > 0) || !double.IsFinite(options.SigmaW))
            throw new ArgumentException($"σ_w must be positive and finite, got {options.SigmaW}.", nameof(options));
        if (!(options.SigmaB >= 0) || !double.IsFinite(options.SigmaB))
            throw new ArgumentException($"σ_b must be non-negative and finite, got {options.SigmaB}.", nameof(options));
        return (options.SigmaW, options.SigmaB);
    }
}

/// <summary>
/// Θ and the NNGP kernel of genotypes on one set of N inputs. The first layer sees the inputs only through their Gram,
/// computed once; the kernels after hidden layer l depend only on layers 1..l, so a genotype resumes from the previous
/// genotype's walk after their longest common prefix of layers (exact: the same operations on the same values). In
/// lexicographic order the 16 assignments of a depth-2 space over four activations cost 4 + 16 layer evaluations, not 32.
/// Not thread-safe.
/// </summary>
public sealed class AnalyticNtkBatch
{
    private readonly double sigmaW;
    private readonly double sigmaB;
    private readonly KernelInterpreter.PrefixWalk<double[], double[]> walk;

    internal AnalyticNtkBatch(double[] inputGram, int count, NetworkOptions options)
    {
        ArgumentNullException.ThrowIfNull(inputGram);
        (sigmaW, sigmaB) = AnalyticNtk.CheckOptions(options);
        if (count < 1 || inputGram.Length != (long)count * count)
            throw new ArgumentException($"An input Gram of {count} inputs has {(long)count * count} entries, got {inputGram.Length}.", nameof(inputGram));
        for (int i = 0; i < inputGram.Length; i++)
            if (!double.IsFinite(inputGram[i]))
                throw new ArgumentException($"The input Gram has a non-finite entry at ({i / count}, {i % count}): the inputs must be finite.", nameof(inputGram));
        if (sigmaB == 0)
            for (int i = 0; i < count; i++)
                if (!(inputGram[i * count + i] > 0))
                    throw new ArgumentException($"Input {i} is zero; with σ_b = 0 its pre-activations have no variance and the dual activations are undefined.", nameof(inputGram));
        Count = count;
        walk = new(sigmaW, sigmaB, new MatrixAlgebra(inputGram, count));
    }

    /// <summary>N.</summary>
    public int Count { get; }

    /// <summary>Hidden layers the last <see cref="Compute"/> took from the genotype before it.</summary>
    public int SharedLayers => walk.SharedLayers;

    public AnalyticKernel Compute(MlpGenotype genotype)
    {
        ArgumentNullException.ThrowIfNull(genotype);
        var (nngp, ntk) = walk.Run(genotype);
        return new AnalyticKernel(genotype, Count, sigmaW, sigmaB, ntk, nngp);
    }

    /// <summary>
    /// The kernels of all <paramref name="genotypes"/>, each with its index in the list, computed lazily in ordinal order
    /// of their canonical forms: genotypes that share their first layers share a prefix of that string, so they come
    /// together and each prefix is computed once.
    /// </summary>
    public IEnumerable<(int Index, AnalyticKernel Kernel)> ComputeAll(IReadOnlyList<MlpGenotype> genotypes)
    {
        ArgumentNullException.ThrowIfNull(genotypes);
        var order = Enumerable.Range(0, genotypes.Count).OrderBy(i => genotypes[i].Canonical, StringComparer.Ordinal).ToArray();
        return order.Select(i => (i, Compute(genotypes[i])));
    }
}

/// <summary>The analytic kernels of one genotype on N inputs, float64, symmetric, row-major.</summary>
public sealed class AnalyticKernel
{
    private readonly double[] ntk;
    private readonly double[] nngp;

    internal AnalyticKernel(MlpGenotype genotype, int count, double sigmaW, double sigmaB, double[] ntk, double[] nngp)
    {
        Genotype = genotype;
        SampleCount = count;
        SigmaW = sigmaW;
        SigmaB = sigmaB;
        this.ntk = ntk;
        this.nngp = nngp;
    }

    public MlpGenotype Genotype { get; }
    public int SampleCount { get; }
    public double SigmaW { get; }
    public double SigmaB { get; }

    /// <summary>Θ(x_i, x_j) of one logit.</summary>
    public double Ntk(int i, int j) => ntk[Index(i, j)];

    /// <summary>The NNGP kernel Σ^{L+1}(x_i, x_j) = lim E[f(x_i) f(x_j)] of one logit.</summary>
    public double Nngp(int i, int j) => nngp[Index(i, j)];

    public double[] NtkArray() => (double[])ntk.Clone();

    public double[] NngpArray() => (double[])nngp.Clone();

    /// <summary>Θ as an <see cref="NtkGram"/> (one logit), for its float64 spectrum.</summary>
    public NtkGram ToGram() => new(ntk, SampleCount);

    public NtkSpectrum Spectrum() => ToGram().Spectrum();

    private int Index(int i, int j)
    {
        if ((uint)i >= (uint)SampleCount || (uint)j >= (uint)SampleCount)
            throw new ArgumentOutOfRangeException(nameof(i), $"Index ({i}, {j}) outside a {SampleCount}×{SampleCount} kernel.");
        return i * SampleCount + j;
    }
}
