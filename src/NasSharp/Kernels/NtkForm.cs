using NasSharp.Networks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Kernels;

/// <summary>
/// Which empirical NTK a λ_min score is taken of, and how it is scaled. The default is the kernel of Zhu, Liu, Chrysos,
/// Cevher (NeurIPS 2022, arXiv 2209.07238) as NasSharp computes it for the <c>mlp</c> space: summed logits, batch norm
/// with running statistics, the network as built, one initialisation, λ_min unscaled. Each option is one of the forms
/// the theory suggests for cell networks, where the raw λ_min measures the kernel's scale more than its conditioning.
/// </summary>
public sealed record NtkForm
{
    /// <summary>The summed-logit N×N kernel, or the per-logit (N·K)×(N·K) one of the theory (Jacot et al. 2018).</summary>
    public NtkOutput Output { get; init; } = NtkOutput.SumOfLogits;

    /// <summary>
    /// Batch norm in training mode (batch statistics, as the network trains): rows of J are then derivatives of the batch
    /// function F(X)_n, which couples the samples; computed by <see cref="EmpiricalNtk.Exact"/>.
    /// </summary>
    public bool BatchStatistics { get; init; }

    /// <summary>
    /// Batch norm normalising by this batch's statistics held fixed: one training-mode pass sets every BN layer's running
    /// statistics to the batch's (momentum 1: PyTorch stores the unbiased variance, M/(M−1) times the biased one it
    /// normalises by, with M ≥ 512 values a channel on NAS-Bench-201), then the kernel is taken in eval mode. The sums in a
    /// cell are normalised as in training, while rows stay per-sample derivatives (the fast path applies): it is the
    /// <see cref="BatchStatistics"/> kernel without the terms through the batch statistics.
    /// </summary>
    public bool FrozenBatchStatistics { get; init; }

    /// <summary>
    /// The NTK parameterisation of the convolutions and linear layers (<see cref="NtkReparameterization"/>, σ_w = 1,
    /// σ_b = 0.1): weights redrawn from N(0, 1/fan_in) and each parameter's block of Θ weighted by its factor s².
    /// </summary>
    public bool NtkParameterization { get; init; }

    /// <summary>Initialisations whose scores are averaged (the first is the network as given).</summary>
    public int Initializations { get; init; } = 1;

    /// <summary>λ_min / (tr Θ / rows): invariant to the kernel's scale, in (0, 1] for a non-singular Θ.</summary>
    public bool TraceNormalized { get; init; }

    /// <summary>The default form: the raw λ_min of the summed-logit kernel.</summary>
    public static NtkForm Default { get; } = new();

    /// <summary>True when the kernel is the default one (the trace normalisation is a score option, not a kernel option).</summary>
    public bool IsDefaultKernel => Kernel == Default;

    /// <summary>This form without the score option: forms with equal kernels share one computation.</summary>
    public NtkForm Kernel => this with { TraceNormalized = false };

    /// <summary>A short suffix naming the options, e.g. <c>_bn_tr</c>; empty for the default.</summary>
    public string Suffix =>
        (Output == NtkOutput.PerLogit ? "_logit" : "") + (BatchStatistics ? "_bn" : "") + (FrozenBatchStatistics ? "_bnfix" : "") + (NtkParameterization ? "_ntkp" : "")
        + (Initializations > 1 ? $"_init{Initializations}" : "") + (TraceNormalized ? "_tr" : "");

    /// <summary>A one-line description for documentation and command output.</summary>
    public string Describe()
    {
        var parts = new List<string>
        {
            Output == NtkOutput.PerLogit ? "per-logit kernel" : "summed-logit kernel",
            BatchStatistics ? "BN in training mode" : FrozenBatchStatistics ? "BN with the batch's statistics held fixed" : "BN in eval mode",
            NtkParameterization ? "NTK parameterisation" : "standard parameterisation",
        };
        if (Initializations > 1) parts.Add($"mean over {Initializations} initialisations");
        return (TraceNormalized ? "λ_min/(tr Θ/rows)" : "λ_min") + ", " + string.Join(", ", parts);
    }

    public void Validate()
    {
        if (!Enum.IsDefined(Output)) throw new ArgumentOutOfRangeException(nameof(Output), Output, "Unknown NtkOutput.");
        if (Initializations < 1) throw new ArgumentOutOfRangeException(nameof(Initializations), Initializations, "Need at least one initialisation.");
        if (BatchStatistics && FrozenBatchStatistics) throw new ArgumentException("Choose batch statistics in training mode or held fixed, not both.");
    }

    /// <summary>The score of one spectrum: λ_min, or λ_min/(tr Θ/rows); NaN when Θ is not finite.</summary>
    public double Score(NtkSpectrum spectrum)
    {
        ArgumentNullException.ThrowIfNull(spectrum);
        if (!spectrum.IsFinite) return double.NaN;
        // Rayleigh: λ_min ≤ tr Θ/rows, so the ratio lies in [0, 1] (up to rounding); 0/0 for Θ = 0 is NaN.
        return TraceNormalized ? spectrum.LambdaMin / (spectrum.Trace / spectrum.Eigenvalues.Count) : spectrum.LambdaMin;
    }

    /// <summary>
    /// The spectra of this form's kernel for each initialisation: initialisation i is <paramref name="build"/>(seed_i),
    /// with seed_0 = <paramref name="seed"/> and the others derived from it. Every network is built here and disposed.
    /// </summary>
    /// <param name="build">Builds the network from a seed (libtorch seeded inside), mapping [N, ...] to logits [N, K].</param>
    /// <param name="x">The batch, in the network's dtype and on its device.</param>
    public IReadOnlyList<NtkSpectrum> Spectra(Func<long, nn.Module<Tensor, Tensor>> build, Tensor x, long seed)
    {
        ArgumentNullException.ThrowIfNull(build);
        ArgumentNullException.ThrowIfNull(x);
        Validate();
        var spectra = new NtkSpectrum[Initializations];
        for (int i = 0; i < Initializations; i++)
        {
            using var scope = NewDisposeScope();
            long s = i == 0 ? seed : Seeds.Derive(seed, "ntk-form-init", i);
            using var model = build(s);
            spectra[i] = Gram(model, x, s).Spectrum();
        }
        return spectra;
    }

    /// <summary>The kernel of this form (one initialisation) of <paramref name="model"/>, which it may re-initialise and leaves in the form's BN mode.</summary>
    public NtkGram Gram(nn.Module<Tensor, Tensor> model, Tensor x, long seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        IReadOnlyDictionary<string, double>? factors = null;
        if (NtkParameterization)
        {
            random.manual_seed(Seeds.Derive(seed, "ntk-parameterization"));
            factors = NtkReparameterization.Apply(model);
        }
        if (FrozenBatchStatistics) HoldBatchStatistics(model, x);
        model.train(BatchStatistics);
        // The structured fast path needs per-sample rows (eval-mode BN) and unit factors; otherwise Jacobian contraction.
        return BatchStatistics || factors is not null
            ? EmpiricalNtk.Exact(model, x, Output, factors)
            : EmpiricalNtk.Compute(model, x, Output, NtkMethod.Auto, out _);
    }

    /// <summary>Sets every BN layer's running statistics to those of <paramref name="x"/> (one training-mode pass with momentum 1).</summary>
    private static void HoldBatchStatistics(nn.Module<Tensor, Tensor> model, Tensor x) => NasSharp.Training.BatchNormRecalibration.Recalibrate(model, x);
}
