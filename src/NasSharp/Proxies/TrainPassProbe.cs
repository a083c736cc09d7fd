using static TorchSharp.torch;

namespace NasSharp.Proxies;

/// <summary>
/// A quantity one proxy defines on <see cref="ProxyContext"/>'s shared train-mode pass, such as NASWOT's ReLU-code kernel
/// or Fisher's channel terms. The proxy's file holds the definition, an observer of the pass; the context only runs the
/// pass, once for every probe the evaluator's proxies declare in <see cref="ProxyRequirements.Observes"/>.
/// </summary>
/// <remarks>
/// The pass, BN in train mode: each probe attaches an observer (forward hooks), those that need the loss last; one
/// forward pass; the input gradients; one backward of the mean cross-entropy L over the trainable parameters and every
/// observer's extra gradient targets; then each observer completes with the gradients of its targets and is disposed.
/// Probes are defined inside the library (their observers use its hook helpers) and compared by reference, so each
/// lives in a static field.
/// </remarks>
public abstract class TrainPassProbe
{
    private protected TrainPassProbe(string name, bool needsLoss)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
        NeedsLoss = needsLoss;
    }

    /// <summary>What it measures, as listed in the pass's <see cref="SharedStage"/> name.</summary>
    public string Name { get; }

    /// <summary>Reads gradients of the cross-entropy: the pass then needs labels and runs the backward.</summary>
    public bool NeedsLoss { get; }

    /// <summary>
    /// Starts observing one pass of <paramref name="network"/>: called before its forward pass, inside the pass's dispose scope.
    /// </summary>
    internal abstract ITrainPassObserver Attach(ProxyContext context, nn.Module<Tensor, Tensor> network);

    public override string ToString() => Name;
}

/// <summary>
/// A probe whose observers give a <typeparamref name="TResult"/>, read with <see cref="ProxyContext.Observe{TResult}"/>.
/// </summary>
internal sealed class TrainPassProbe<TResult>(string name, bool needsLoss,
    Func<ProxyContext, nn.Module<Tensor, Tensor>, TrainPassObserver<TResult>> attach) : TrainPassProbe(name, needsLoss)
    where TResult : class
{
    internal override ITrainPassObserver Attach(ProxyContext context, nn.Module<Tensor, Tensor> network) => attach(context, network);
}

/// <summary>What <see cref="ProxyContext"/> sees of an observer, whatever its result type.</summary>
internal interface ITrainPassObserver : IDisposable
{
    IReadOnlyList<Tensor> GradientTargets { get; }

    object Complete(IReadOnlyList<Tensor> gradients);
}

/// <summary>
/// Observes one train-mode pass for a <see cref="TrainPassProbe{TResult}"/>: created before the forward pass (register
/// forward hooks in the constructor), completed once after the pass, then disposed.
/// </summary>
internal abstract class TrainPassObserver<TResult> : ITrainPassObserver where TResult : class
{
    /// <summary>
    /// Leaves (requires_grad) whose ∂L/∂· the backward computes together with ∂L/∂θ; read after the forward pass, so
    /// hooks may create them. None by default.
    /// </summary>
    public virtual IReadOnlyList<Tensor> GradientTargets => [];

    /// <summary>
    /// The result, computed inside the pass's dispose scope (keep tensors with <see cref="ProxyContext.Own"/>).
    /// <paramref name="gradients"/>[i] is ∂L/∂<see cref="GradientTargets"/>[i], an invalid tensor where L does not depend
    /// on it; empty when the pass had no loss.
    /// </summary>
    public abstract TResult Complete(IReadOnlyList<Tensor> gradients);

    /// <summary>Removes the hooks and frees what the observer keeps outside the pass's dispose scope.</summary>
    public abstract void Dispose();

    object ITrainPassObserver.Complete(IReadOnlyList<Tensor> gradients) => Complete(gradients);
}
