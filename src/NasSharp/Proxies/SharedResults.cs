using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Proxies;

/// <summary>
/// ∂L/∂θ of the mean cross-entropy over the context's batch, at initialisation, BN in train mode, for every trainable
/// parameter. Tensors are owned by the <see cref="ProxyContext"/> (disposed with it); do not dispose or modify them.
/// </summary>
public sealed class LossGradients
{
    private readonly Dictionary<IntPtr, int> index;

    internal LossGradients(double loss, Parameter[] parameters, Tensor[] gradients, string? nonFiniteReason)
    {
        Loss = loss;
        Parameters = parameters;
        Gradients = gradients;
        NonFiniteReason = nonFiniteReason;
        index = new Dictionary<IntPtr, int>();
        for (int i = 0; i < parameters.Length; i++) index[parameters[i].Handle] = i;
    }

    /// <summary>The mean cross-entropy L.</summary>
    public double Loss { get; }

    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>∂L/∂θ per parameter, detached, in the parameter's dtype; zeros for parameters L does not depend on.</summary>
    public IReadOnlyList<Tensor> Gradients { get; }

    /// <summary>Where NaN/Inf first appear (output, loss or a gradient), or null when everything is finite.</summary>
    public string? NonFiniteReason { get; }

    public Tensor Of(Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        return index.TryGetValue(parameter.Handle, out int i)
            ? Gradients[i]
            : throw new ArgumentException("That parameter is not a trainable parameter of the context's network.", nameof(parameter));
    }
}

/// <summary>
/// For one call of a weight layer with output a (shape [N, C, ...]): t[n, c] = Σ_spatial a[n, c, …] · ∂L/∂a[n, c, …]
/// in float64, L the mean cross-entropy (train-mode BN). Fisher's per-channel terms (Theis et al. 2018).
/// </summary>
public sealed record ActivationGradientTerms(string Layer, Tensor Terms);

/// <summary>
/// NASWOT's kernel (Mellor et al. 2021, Sec. 3): K[i, j] = N_A − d_H(c_i, c_j) with c_i the binary code of input i over
/// all N_A ReLU units (1 when the unit's input is positive), accumulated as Σ_units c cᵀ + (1−c)(1−c)ᵀ in float64.
/// </summary>
public sealed record ReluCodeKernel(Tensor Kernel, long Units, string? NonFiniteReason);

/// <summary>Wall time of a computation the context shared between proxies.</summary>
public sealed record SharedStage(string Name, double Seconds);
