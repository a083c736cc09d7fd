using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Search.Nasi;

/// <summary>
/// NASI's trace norm of the NTK at initialisation and its batch approximation (Shu et al. 2022, Eqs. 9–12). For a loss
/// L_x(θ) = ℓ(f(x; θ), y) the exact quantity over a batch is Σ_x ‖∇_θ L_x‖² (the trace of the loss-gradient Gram, which
/// for a γ-Lipschitz ℓ is at most γ² ‖Θ₀‖_tr); NASI replaces it with the squared norm of the mean gradient,
/// ‖Θ̃₀‖_tr = ‖b⁻¹ Σ_x ∇_θ L_x‖², one backward pass. By Cauchy–Schwarz ‖b⁻¹ Σ_x g_x‖² ≤ b⁻¹ Σ_x ‖g_x‖².
/// </summary>
public static class TraceNorm
{
    /// <summary>
    /// ‖b⁻¹ Σ_x ∇_θ L_x‖² for the mean cross-entropy of the batch, as a scalar tensor. With <paramref name="createGraph"/>
    /// it stays differentiable (a double backward), e.g. with respect to mixing weights that the model's output depends on.
    /// </summary>
    /// <param name="factors">
    /// Optional squared gradient factors by parameter name (<see cref="Networks.NtkReparameterization"/>): the norm is then
    /// taken with respect to the NTK parameters θ rather than the stored weights; a parameter not listed has factor 1.
    /// </param>
    public static Tensor Approximation(nn.Module<Tensor, Tensor> model, Tensor x, Tensor y, bool createGraph, IReadOnlyDictionary<string, double>? factors = null)
    {
        var (parameters, weights) = Trainable(model, factors);
        var loss = nn.functional.cross_entropy(model.call(x), y);
        // retain_graph with create_graph: TorchSharp frees the graph otherwise.
        var grads = autograd.grad([loss], parameters, retain_graph: createGraph, create_graph: createGraph, allow_unused: true);
        Tensor? total = null;
        for (int i = 0; i < grads.Count; i++)
        {
            if (grads[i].IsInvalid) continue;
            var s = grads[i].pow(2).sum();
            if (weights[i] != 1.0) s = s * weights[i];
            total = total is null ? s : total + s;
        }
        return total ?? zeros(1, dtype: x.dtype, device: x.device).sum();
    }

    /// <summary>Σ_x ‖∇_θ L_x‖², one backward pass per sample (the quantity the approximation stands for, times b).</summary>
    public static double PerSampleSum(nn.Module<Tensor, Tensor> model, Tensor x, Tensor y, IReadOnlyDictionary<string, double>? factors = null)
    {
        var (parameters, weights) = Trainable(model, factors);
        double sum = 0;
        for (long i = 0; i < x.shape[0]; i++)
        {
            using var scope = NewDisposeScope();
            var loss = nn.functional.cross_entropy(model.call(x.narrow(0, i, 1)), y.narrow(0, i, 1));
            var grads = autograd.grad([loss], parameters, allow_unused: true);
            for (int k = 0; k < grads.Count; k++)
                if (!grads[k].IsInvalid) sum += grads[k].to_type(ScalarType.Float64).pow(2).sum().item<double>() * weights[k];
        }
        return sum;
    }

    /// <summary>The trainable parameters and, for each, its squared gradient factor (1 unless <paramref name="factors"/> names it).</summary>
    internal static (Tensor[] Parameters, double[] Factors) Trainable(nn.Module<Tensor, Tensor> model, IReadOnlyDictionary<string, double>? factors)
    {
        ArgumentNullException.ThrowIfNull(model);
        var named = model.named_parameters().Where(p => p.parameter.requires_grad).ToArray();
        if (named.Length == 0) throw new ArgumentException("The model has no trainable parameters.", nameof(model));
        return (named.Select(p => (Tensor)p.parameter).ToArray(),
            named.Select(p => factors is not null && factors.TryGetValue(p.name, out var f) ? f : 1.0).ToArray());
    }
}
