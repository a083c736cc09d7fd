using NasSharp.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Search.Nasi;

/// <summary>How NASI computes ∇_α of the trace norm: two implementations of one quantity, tested against each other.</summary>
public enum AlphaGradient
{
    /// <summary>The double backward: ∂‖g‖²/∂α through a graph of the gradient g = ∇_θ L̄ (create_graph).</summary>
    Exact,
    /// <summary>
    /// A central-difference Hessian-vector product (the way DARTS approximates its second-order term; Liu, Simonyan, Yang,
    /// ICLR 2019, arXiv 1806.09055, Eq. 8): three ordinary forward and backward passes, no graph of a graph.
    /// </summary>
    FiniteDifference,
}

/// <summary>
/// The trace norm t = Σ_i f_i ‖g_i‖² of a relaxed supernet (<see cref="TraceNorm.Approximation"/>; g = ∇_θ L̄, f_i the NTK
/// factors or 1) and its gradient with respect to the architecture logits α that the mixing weights are built from.
/// ∇_α t = 2 (∂g/∂α)ᵀ (f ⊙ g), and (∂g/∂α)ᵀ v is the derivative of ∇_α L̄(θ + εv, α) at ε = 0 (the mixed second
/// derivative is symmetric), so with v = f ⊙ g:
/// ∇_α t ≈ 2 · (∇_α L̄(θ + εv, α) − ∇_α L̄(θ − εv, α)) / (2ε), with error O(ε²) (a third derivative along v).
/// </summary>
public static class TraceNormGradient
{
    /// <summary>
    /// ‖εv‖ = <see cref="Step"/>: ε = 0.01/‖v‖, DARTS' choice (its ε = 0.01/‖∇_w′ L_val‖), a step of fixed length in θ
    /// whatever the gradient's scale. The exact path differentiates the ReLU supernet almost everywhere (ReLU'' = 0); the
    /// difference quotient also sees every ReLU whose input changes sign between θ − εv and θ + εv, and each such kink adds
    /// about (its jump in ∇_α L̄)/ε, so the error does not shrink with ε until no unit crosses. On a tiny float64 supernet
    /// that needs ‖εv‖ ≲ 1e-4 (then the error falls as ε², 7e-6 at 1e-4 and 7e-8 at 1e-5); on the NB201 search supernet
    /// (~10⁸ ReLU inputs at b = 64) every step a float32 difference can resolve crosses kinks, and the two paths' G_t
    /// differ by O(1) (measured in docs/experiments/nasi-nb201.md). The finite-difference path is a different estimate of
    /// G_t there, not the exact one more cheaply.
    /// </summary>
    public const double Step = 0.01;

    /// <summary>
    /// The trace norm and ∇_α of it, by <paramref name="method"/> (the finite-difference path with ‖εv‖ = <paramref name="step"/>). <paramref name="mixingWeights"/> builds the supernet's
    /// mixing weights from <paramref name="alphas"/> (it is called once per pass, so each pass has a graph of its own).
    /// The gradient has one tensor per α (zeros where the output does not depend on it); the supernet's parameters are
    /// left as they were (bit for bit).
    /// </summary>
    public static (double Trace, Tensor[] Gradient) Compute(RelaxedSupernet supernet, Func<IReadOnlyList<Tensor>> mixingWeights,
        IReadOnlyList<Tensor> alphas, Tensor x, Tensor y, AlphaGradient method, double step = Step)
    {
        ArgumentNullException.ThrowIfNull(supernet);
        ArgumentNullException.ThrowIfNull(mixingWeights);
        ArgumentNullException.ThrowIfNull(alphas);
        return method switch
        {
            AlphaGradient.Exact => Exact(supernet, mixingWeights, alphas, x, y),
            AlphaGradient.FiniteDifference => FiniteDifference(supernet, mixingWeights, alphas, x, y, step),
            _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown α-gradient method."),
        };
    }

    private static (double, Tensor[]) Exact(RelaxedSupernet supernet, Func<IReadOnlyList<Tensor>> mixingWeights, IReadOnlyList<Tensor> alphas, Tensor x, Tensor y)
    {
        supernet.SetMixingWeights(mixingWeights());
        var trace = TraceNorm.Approximation(supernet, x, y, createGraph: true, supernet.GradientFactors);
        var grads = autograd.grad([trace], [.. alphas], allow_unused: true);
        return (trace.to_type(ScalarType.Float64).item<double>(), Filled(grads, alphas));
    }

    /// <summary>The finite-difference path with ‖εv‖ = <paramref name="step"/> (see <see cref="Step"/>).</summary>
    public static (double Trace, Tensor[] Gradient) FiniteDifference(RelaxedSupernet supernet, Func<IReadOnlyList<Tensor>> mixingWeights,
        IReadOnlyList<Tensor> alphas, Tensor x, Tensor y, double step)
    {
        ArgumentNullException.ThrowIfNull(supernet);
        ArgumentNullException.ThrowIfNull(mixingWeights);
        ArgumentNullException.ThrowIfNull(alphas);
        if (!(step > 0) || !double.IsFinite(step)) throw new ArgumentOutOfRangeException(nameof(step), step, "The step must be positive and finite.");
        var named = supernet.named_parameters().Where(p => p.parameter.requires_grad).ToArray();
        var parameters = named.Select(p => (Tensor)p.parameter).ToArray();
        var factors = supernet.GradientFactors;
        Tensor[] direction;
        double trace, norm2 = 0;
        using (var pass = NewDisposeScope())
        {
            using (no_grad()) supernet.SetMixingWeights(mixingWeights().Select(w => w.detach()).ToArray());
            var loss = nn.functional.cross_entropy(supernet.call(x), y);
            var g = autograd.grad([loss], parameters, allow_unused: true);
            trace = 0;
            direction = new Tensor[parameters.Length];
            for (int i = 0; i < parameters.Length; i++)
            {
                if (g[i].IsInvalid) { direction[i] = zeros_like(parameters[i]); continue; }
                double f = factors is not null && factors.TryGetValue(named[i].name, out var v) ? v : 1.0;
                double s = g[i].to_type(ScalarType.Float64).pow(2).sum().item<double>();
                trace += f * s;
                norm2 += f * f * s;
                direction[i] = (f == 1.0 ? g[i].detach() : g[i].detach() * f).MoveToOuterDisposeScope();
            }
        }
        if (norm2 == 0) return (trace, alphas.Select(a => zeros_like(a)).ToArray());
        double epsilon = step / Math.Sqrt(norm2);
        var saved = parameters.Select(p => p.detach().clone()).ToArray();
        try
        {
            var plus = AlphaGradientAt(supernet, parameters, saved, direction, epsilon, mixingWeights, alphas, x, y);
            var minus = AlphaGradientAt(supernet, parameters, saved, direction, -epsilon, mixingWeights, alphas, x, y);
            // 2 · (a₊ − a₋)/(2ε)
            return (trace, plus.Zip(minus, (p, m) => (p - m) / epsilon).ToArray());
        }
        finally
        {
            using (no_grad())
                for (int i = 0; i < parameters.Length; i++) parameters[i].copy_(saved[i]);
        }
    }

    /// <summary>∇_α L̄ at θ₀ + shift·v, θ₀ being <paramref name="saved"/>.</summary>
    private static Tensor[] AlphaGradientAt(RelaxedSupernet supernet, Tensor[] parameters, Tensor[] saved, Tensor[] direction, double shift,
        Func<IReadOnlyList<Tensor>> mixingWeights, IReadOnlyList<Tensor> alphas, Tensor x, Tensor y)
    {
        using var pass = NewDisposeScope();
        using (no_grad())
            for (int i = 0; i < parameters.Length; i++) parameters[i].copy_(saved[i]).add_(direction[i], alpha: shift);
        supernet.SetMixingWeights(mixingWeights());
        var loss = nn.functional.cross_entropy(supernet.call(x), y);
        var grads = autograd.grad([loss], [.. alphas], allow_unused: true);
        return Filled(grads, alphas).Select(g => g.detach().MoveToOuterDisposeScope()).ToArray();
    }

    private static Tensor[] Filled(IList<Tensor> grads, IReadOnlyList<Tensor> alphas) =>
        [.. grads.Select((g, i) => g.IsInvalid ? zeros_like(alphas[i]) : g)];
}
