namespace NasSharp.Proxies;

/// <summary>
/// A training-free proxy: a score of an architecture computed from its network at initialisation (and a batch),
/// larger = predicted better. Each implementation documents its definition, its paper and its sign.
/// </summary>
public interface IProxy
{
    /// <summary>The registry name, e.g. <c>synflow</c>.</summary>
    string Name { get; }

    ProxyRequirements Requirements { get; }

    /// <summary>
    /// Scores the network of <paramref name="context"/>. Must not change the weights of <see cref="ProxyContext.Network"/>
    /// (destructive proxies declare <see cref="ProxyRequirements.NeedsCopyOfNetwork"/> and use <see cref="ProxyContext.BuildCopy"/>).
    /// </summary>
    ProxyScore Score(ProxyContext context);
}

/// <summary>How batch normalisation runs while a proxy evaluates the network.</summary>
public enum BatchNormMode
{
    /// <summary>The proxy does not run the network on data (e.g. <c>params</c>).</summary>
    NotUsed,
    /// <summary>Batch statistics (module.train()), as during training and in the reference implementations.</summary>
    Train,
    /// <summary>Running statistics (module.eval()); at initialisation BN is then x/√(1+ε), independent across samples.</summary>
    Eval,
}

/// <summary>
/// Computations a proxy reads from the context, so an evaluator can compute them once for several proxies. What a
/// proxy defines for itself on the train-mode pass is a <see cref="TrainPassProbe"/> (<see cref="ProxyRequirements.Observes"/>).
/// </summary>
[Flags]
public enum SharedComputation
{
    None = 0,
    /// <summary>∂L/∂θ of the mean cross-entropy over the batch (train-mode BN): <see cref="ProxyContext.LossGradients"/>.</summary>
    LossGradients = 1,
    /// <summary>∂(Σ logits)/∂x for every input (train-mode BN), for jacob_cov.</summary>
    InputGradients = 4,
    /// <summary>The empirical NTK Gram of the summed logits (eval-mode BN).</summary>
    EmpiricalNtk = 16,
}

/// <summary>What a proxy needs, in NASLib's terms (Abdelfattah et al. 2021 declare the same per measure).</summary>
/// <param name="NeedsLabels">Uses the labels (a loss); false for label-free proxies.</param>
/// <param name="NeedsData">Uses the input values; false for data-free proxies (synflow feeds ones, meco a Gaussian sample).</param>
/// <param name="BatchNorm">The mode batch normalisation runs in.</param>
/// <param name="NeedsCopyOfNetwork">Changes weights (synflow takes |θ|), so it works on its own freshly built copy.</param>
/// <param name="Shares">Shared computations it reads from the context.</param>
/// <param name="Observes">What it measures on the context's train-mode pass besides <paramref name="Shares"/> (NASWOT's
/// ReLU codes, Fisher's channel terms), so that the same pass serves every proxy; null when nothing.</param>
public sealed record ProxyRequirements(
    bool NeedsLabels,
    bool NeedsData,
    BatchNormMode BatchNorm,
    bool NeedsCopyOfNetwork = false,
    SharedComputation Shares = SharedComputation.None,
    TrainPassProbe? Observes = null);
