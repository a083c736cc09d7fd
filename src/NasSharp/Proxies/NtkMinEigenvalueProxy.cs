using NasSharp.Kernels;

namespace NasSharp.Proxies;

/// <summary>
/// <c>ntk_min_eig</c>: λ_min of the empirical NTK Θ = J Jᵀ of the summed logits on the batch (BN in eval mode, all trainable
/// parameters). A larger λ_min gives faster convergence and a smaller generalisation bound (yᵀΘ⁻¹y ≤ n/λ_min; Arora et al.
/// 2019; Zhu et al., NeurIPS 2022), so larger = predicted better. Tiny negative values are rounding of a singular Θ and kept as computed.
/// The other forms (<see cref="NtkForm"/>: trace-normalised, train-mode BN, NTK parameterisation, per-logit kernel, several
/// initialisations) are the same proxy with another form, named <c>ntk_min_eig</c> + <see cref="NtkForm.Suffix"/>; the score
/// of several initialisations is the mean of their scores.
/// </summary>
public sealed class NtkMinEigenvalueProxy : IProxy
{
    public const string BaseName = "ntk_min_eig";

    public NtkMinEigenvalueProxy() : this(NtkForm.Default)
    {
    }

    public NtkMinEigenvalueProxy(NtkForm form)
    {
        ArgumentNullException.ThrowIfNull(form);
        form.Validate();
        Form = form;
        Name = BaseName + form.Suffix;
        Requirements = new(NeedsLabels: false, NeedsData: true, form.BatchStatistics ? BatchNormMode.Train : BatchNormMode.Eval,
            Shares: form.IsDefaultKernel ? SharedComputation.EmpiricalNtk : SharedComputation.None);
    }

    public NtkForm Form { get; }

    public string Name { get; }

    public ProxyRequirements Requirements { get; }

    public ProxyScore Score(ProxyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var spectra = context.NtkSpectra(Form);
        if (spectra.FirstOrDefault(s => !s.IsFinite) is { } bad) return ProxyScore.NonFinite(double.NaN, bad.NonFiniteReason!);
        double score = spectra.Average(Form.Score);
        return ProxyScore.From(score, () => Form.TraceNormalized ? $"λ_min/(tr Θ/rows) is {score} (Θ = 0?)" : $"λ_min is {score}");
    }
}
