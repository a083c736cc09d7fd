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

/// <summary>Wall time of a computation the context shared between proxies.</summary>
public sealed record SharedStage(string Name, double Seconds);
