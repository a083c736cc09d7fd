using NasSharp.Kernels;
using NasSharp.Theory;

namespace NasSharp.Proxies;

/// <summary>
/// <c>ntk_complexity</c>: N / tr(YᵀΘ⁻¹Y) of the empirical NTK Θ of the summed logits on the batch and the batch's one-hot
/// labels Y (<see cref="KernelComplexity"/>), larger = predicted better. tr(YᵀΘ⁻¹Y)/N is the data-dependent complexity whose
/// square root bounds the test error of a network trained by gradient descent in the kernel regime (Arora, Du, Hu, Li &amp;
/// Wang, ICML 2019, Thm. 5.1), the bound Zhu, Liu, Chrysos &amp; Cevher (NeurIPS 2022, arXiv 2209.07238) relax to 1/λ_min:
/// it weighs each eigenvalue by how much of the labels lies along its eigenvector, where λ_min takes the worst direction
/// whatever the labels. Because ‖Y‖_F² = N the score is ≥ λ_min(Θ). The forms are <see cref="NtkForm"/>'s
/// (<c>_tr</c>: Θ divided by tr Θ/N, so the score is scale-free); 0 when Θ is singular at float64 precision.
/// </summary>
public sealed class NtkComplexityProxy : IProxy
{
    public const string BaseName = "ntk_complexity";

    public NtkComplexityProxy(NtkForm form)
    {
        ArgumentNullException.ThrowIfNull(form);
        form.Validate();
        if (form.Output != NtkOutput.SumOfLogits || form.Initializations != 1)
            throw new ArgumentException("ntk_complexity takes the summed-logit kernel of one initialisation.", nameof(form));
        Form = form;
        Name = BaseName + form.Suffix;
        Requirements = new(NeedsLabels: true, NeedsData: true, form.BatchStatistics ? BatchNormMode.Train : BatchNormMode.Eval);
    }

    public NtkForm Form { get; }

    public string Name { get; }

    public ProxyRequirements Requirements { get; }

    public ProxyScore Score(ProxyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Labels is null) return ProxyScore.NotApplicable("the complexity needs the batch's labels");
        var gram = context.NtkGram(Form);
        int n = gram.SampleCount;
        int[] labels;
        using (TorchSharp.torch.NewDisposeScope())
            labels = [.. context.Labels.to_type(TorchSharp.torch.ScalarType.Int64).cpu().data<long>().Select(l => (int)l)];
        var result = KernelComplexity.Compute(gram.ToArray(), n, labels, context.Classes);
        if (result.NonFiniteReason is { } reason) return ProxyScore.NonFinite(double.NaN, reason);
        double score = Form.TraceNormalized ? result.InverseComplexity / (result.Trace / n) : result.InverseComplexity;
        return ProxyScore.From(score, () => $"N/tr(YᵀΘ⁻¹Y) is {score} (tr Θ = {result.Trace})");
    }
}
