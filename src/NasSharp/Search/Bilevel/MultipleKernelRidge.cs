using static TorchSharp.torch;

namespace NasSharp.Search.Bilevel;

/// <summary>The validation loss of a kernel weighting α and its gradient ∂L/∂α.</summary>
public sealed record KernelObjective(double Loss, double[] Gradient);

/// <summary>
/// The bilevel problem of multiple kernel learning (Oymak, Li &amp; Soltanolkotabi, ICML 2021, the connection of their
/// activation search to multiple kernel learning; the paper's own statement is not available here, this is the standard
/// kernel-ridge form): the lower level is kernel ridge regression on the training split with K_α = Σ_i α_i K_i,
///   B(α) = (K_α[T,T] + λI)⁻¹ Y_T,
/// the upper level the validation loss of its predictions,
///   L(α) = (1/2n_V) ‖K_α[V,T] B(α) − Y_V‖_F².
/// Both are closed forms; with A = K_α[T,T] + λI, R = K_α[V,T] B − Y_V and Q = A⁻¹ K_α[V,T]ᵀ R the hypergradient is
///   ∂L/∂α_i = (1/n_V) (⟨R, K_i[V,T] B⟩ − ⟨Q, K_i[T,T] B⟩)
/// (differentiate A B = Y_T: ∂B = −A⁻¹ K_i[T,T] B). Float64 throughout, Cholesky solves.
/// </summary>
public sealed class MultipleKernelRidge : IDisposable
{
    private readonly Tensor trainKernels;   // [h, n_T, n_T]
    private readonly Tensor crossKernels;   // [h, n_V, n_T]
    private readonly Tensor trainTargets;   // [n_T, C]
    private readonly Tensor validationTargets; // [n_V, C]

    /// <param name="trainKernels">K_i[T,T] per candidate, each n_T × n_T row-major.</param>
    /// <param name="crossKernels">K_i[V,T] per candidate, each n_V × n_T row-major.</param>
    /// <param name="trainTargets">Y_T, n_T × C row-major.</param>
    /// <param name="validationTargets">Y_V, n_V × C row-major.</param>
    /// <param name="ridge">λ &gt; 0.</param>
    public MultipleKernelRidge(IReadOnlyList<double[]> trainKernels, IReadOnlyList<double[]> crossKernels, double[] trainTargets, double[] validationTargets,
        int outputs, double ridge)
    {
        ArgumentNullException.ThrowIfNull(trainKernels);
        ArgumentNullException.ThrowIfNull(crossKernels);
        if (trainKernels.Count == 0 || trainKernels.Count != crossKernels.Count)
            throw new ArgumentException($"Need the same positive number of train and cross kernels, got {trainKernels.Count} and {crossKernels.Count}.");
        if (outputs < 1) throw new ArgumentOutOfRangeException(nameof(outputs), outputs, "Need at least one output.");
        if (!(ridge > 0) || !double.IsFinite(ridge)) throw new ArgumentOutOfRangeException(nameof(ridge), ridge, "The ridge λ must be positive.");
        if (trainTargets.Length % outputs != 0 || validationTargets.Length % outputs != 0)
            throw new ArgumentException($"Targets must have {outputs} columns.");
        TrainCount = trainTargets.Length / outputs;
        ValidationCount = validationTargets.Length / outputs;
        if (TrainCount < 1 || ValidationCount < 1) throw new ArgumentException("Need at least one training and one validation sample.");
        Candidates = trainKernels.Count;
        Outputs = outputs;
        Ridge = ridge;
        for (int i = 0; i < Candidates; i++)
        {
            if (trainKernels[i].Length != TrainCount * TrainCount) throw new ArgumentException($"Train kernel {i} must be {TrainCount}×{TrainCount}.");
            if (crossKernels[i].Length != ValidationCount * TrainCount) throw new ArgumentException($"Cross kernel {i} must be {ValidationCount}×{TrainCount}.");
        }
        this.trainKernels = Stack(trainKernels, TrainCount, TrainCount).DetachFromDisposeScope();
        this.crossKernels = Stack(crossKernels, ValidationCount, TrainCount).DetachFromDisposeScope();
        this.trainTargets = tensor(trainTargets, new long[] { TrainCount, outputs }, dtype: ScalarType.Float64).DetachFromDisposeScope();
        this.validationTargets = tensor(validationTargets, new long[] { ValidationCount, outputs }, dtype: ScalarType.Float64).DetachFromDisposeScope();
    }

    public int Candidates { get; }
    public int TrainCount { get; }
    public int ValidationCount { get; }
    public int Outputs { get; }
    public double Ridge { get; }

    /// <summary>L(α) and ∂L/∂α in closed form.</summary>
    public KernelObjective Evaluate(IReadOnlyList<double> alpha)
    {
        using var scope = NewDisposeScope();
        var a = Weights(alpha);
        var (b, l) = Fit(a);
        var kvt = Combine(a, crossKernels);
        var r = kvt.mm(b) - validationTargets;
        double loss = 0.5 * r.pow(2).sum().item<double>() / ValidationCount;
        var q = cholesky_solve(kvt.t().mm(r), l);
        var g = (crossKernels.reshape(Candidates, -1).mv(r.mm(b.t()).reshape(-1)) - trainKernels.reshape(Candidates, -1).mv(q.mm(b.t()).reshape(-1))) / ValidationCount;
        return new KernelObjective(loss, g.data<double>().ToArray());
    }

    /// <summary>L(α) alone: <see cref="Evaluate"/>'s loss without the hypergradient's solve and contractions.</summary>
    public double ValidationLoss(IReadOnlyList<double> alpha)
    {
        using var scope = NewDisposeScope();
        var a = Weights(alpha);
        var (b, _) = Fit(a);
        return 0.5 * (Combine(a, crossKernels).mm(b) - validationTargets).pow(2).sum().item<double>() / ValidationCount;
    }

    /// <summary>
    /// The loss (1/2n) ‖K_α[X,T] B(α) − Y_X‖_F² on other points X (e.g. a test split), with their kernels against the
    /// training split (each n × n_T) and targets (n × C).
    /// </summary>
    public double Loss(IReadOnlyList<double> alpha, IReadOnlyList<double[]> kernelsAgainstTrain, double[] targets)
    {
        ArgumentNullException.ThrowIfNull(kernelsAgainstTrain);
        ArgumentNullException.ThrowIfNull(targets);
        int n = targets.Length / Outputs;
        if (kernelsAgainstTrain.Count != Candidates || targets.Length != n * Outputs || n < 1)
            throw new ArgumentException($"Need {Candidates} kernels against the training split and targets with {Outputs} columns.");
        using var scope = NewDisposeScope();
        var a = Weights(alpha);
        var (b, _) = Fit(a);
        var k = Combine(a, Stack(kernelsAgainstTrain, n, TrainCount));
        return 0.5 * (k.mm(b) - tensor(targets, new long[] { n, Outputs }, dtype: ScalarType.Float64)).pow(2).sum().item<double>() / n;
    }

    /// <summary>The training loss (1/2n_T) ‖K_α[T,T] B(α) − Y_T‖_F² = (λ²/2n_T) ‖A⁻¹Y_T‖²: near zero for every α when the kernels interpolate.</summary>
    public double TrainingLoss(IReadOnlyList<double> alpha)
    {
        using var scope = NewDisposeScope();
        var a = Weights(alpha);
        var (b, _) = Fit(a);
        return 0.5 * (Combine(a, trainKernels).mm(b) - trainTargets).pow(2).sum().item<double>() / TrainCount;
    }

    private (Tensor B, Tensor L) Fit(Tensor a)
    {
        var system = Combine(a, trainKernels);
        system.diagonal().add_(Ridge);
        var l = linalg.cholesky(system);
        return (cholesky_solve(trainTargets, l), l);
    }

    private Tensor Weights(IReadOnlyList<double> alpha)
    {
        ArgumentNullException.ThrowIfNull(alpha);
        if (alpha.Count != Candidates) throw new ArgumentException($"α has {alpha.Count} entries; there are {Candidates} kernels.", nameof(alpha));
        foreach (var v in alpha)
            if (!(v >= 0) || !double.IsFinite(v)) throw new ArgumentException($"Kernel weights must be non-negative and finite, got {v}.", nameof(alpha));
        return tensor(alpha.ToArray(), dtype: ScalarType.Float64);
    }

    /// <summary>Σ_i a_i K_i as one row vector times the kernels flattened to [h, rows·columns]: a single pass over them.</summary>
    private static Tensor Combine(Tensor a, Tensor kernels) => a.unsqueeze(0).mm(kernels.reshape(kernels.shape[0], -1)).reshape(kernels.shape[1], kernels.shape[2]);

    private static Tensor Stack(IReadOnlyList<double[]> kernels, int rows, int columns)
    {
        using var scope = NewDisposeScope();
        return stack(kernels.Select(k => tensor(k, new long[] { rows, columns }, dtype: ScalarType.Float64)).ToArray()).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        trainKernels.Dispose();
        crossKernels.Dispose();
        trainTargets.Dispose();
        validationTargets.Dispose();
    }
}

/// <summary>
/// Exponentiated gradient (mirror descent with the entropy) on the probability simplex: α ← α ∘ exp(−η g/‖g‖_∞), renormalised.
/// Dividing by ‖g‖_∞ makes the step size a bound on each log-weight's change per step, whatever the loss's scale.
/// </summary>
public static class ExponentiatedGradient
{
    public static double[] Step(IReadOnlyList<double> alpha, IReadOnlyList<double> gradient, double stepSize)
    {
        ArgumentNullException.ThrowIfNull(alpha);
        ArgumentNullException.ThrowIfNull(gradient);
        if (alpha.Count != gradient.Count) throw new ArgumentException("α and its gradient differ in length.");
        double scale = gradient.Max(Math.Abs);
        if (!double.IsFinite(scale)) throw new ArgumentException("The gradient is not finite.", nameof(gradient));
        if (scale == 0) return [.. alpha];
        // Shift by the smallest exponent so that the largest factor is 1 (no overflow).
        var exponents = gradient.Select(g => -stepSize * g / scale).ToArray();
        double top = exponents.Max();
        var next = alpha.Select((a, i) => a * Math.Exp(exponents[i] - top)).ToArray();
        double sum = next.Sum();
        return [.. next.Select(v => v / sum)];
    }
}
