using NasSharp.Networks;
using NasSharp.Proxies;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Search.Nasi;

/// <summary>How NASI computes ∇_α of the trace norm: two implementations of one quantity, tested against each other.</summary>
public enum AlphaGradient
{
    /// <summary>The double backward: ∂‖g‖²/∂α through a graph of the gradient g = ∇_θ L̄ (create_graph).</summary>
    Exact,
    /// <summary>
    /// A central-difference Hessian-vector product (the way DARTS approximates its second-order term; Liu, Simonyan, Yang,
    /// ICLR 2019, arXiv 1806.09055, Eq. 8), with the ReLUs' activation pattern held at θ's in the shifted passes: three
    /// ordinary forward and backward passes, no graph of a graph.
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
    /// whatever the gradient's scale. The exact path differentiates the ReLU supernet almost everywhere (ReLU'' = 0). A plain
    /// difference quotient would also see every ReLU whose input changes sign between θ − εv and θ + εv, each kink adding
    /// about (its jump in ∇_α L̄)/ε, and on the NB201 search supernet every step a float32 difference can resolve crosses
    /// kinks (relative errors 1–13 measured in docs/experiments/nasi-nb201.md). So the two shifted passes hold every ReLU
    /// module's activation pattern at the one it had at θ (x ↦ x·1[x(θ) &gt; 0]): that network agrees with the supernet at
    /// θ in value, ∇_α and every derivative the double backward takes, and is smooth in θ, so the quotient errs by O(ε²)
    /// at any step. Kinks outside ReLU modules (max pooling, functional ReLUs) are not held.
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
        using var pattern = new ActivationPattern(supernet);
        using (var pass = NewDisposeScope())
        {
            using (no_grad()) supernet.SetMixingWeights(mixingWeights().Select(w => w.detach()).ToArray());
            Tensor logits;
            using (pattern.Record()) logits = supernet.call(x);
            var loss = nn.functional.cross_entropy(logits, y);
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
            var plus = AlphaGradientAt(supernet, parameters, saved, direction, epsilon, mixingWeights, alphas, x, y, pattern);
            var minus = AlphaGradientAt(supernet, parameters, saved, direction, -epsilon, mixingWeights, alphas, x, y, pattern);
            // 2 · (a₊ − a₋)/(2ε)
            return (trace, plus.Zip(minus, (p, m) => (p - m) / epsilon).ToArray());
        }
        finally
        {
            using (no_grad())
                for (int i = 0; i < parameters.Length; i++) parameters[i].copy_(saved[i]);
        }
    }

    /// <summary>∇_α L̄ at θ₀ + shift·v, θ₀ being <paramref name="saved"/>, with the ReLUs' activation pattern held at θ₀'s.</summary>
    private static Tensor[] AlphaGradientAt(RelaxedSupernet supernet, Tensor[] parameters, Tensor[] saved, Tensor[] direction, double shift,
        Func<IReadOnlyList<Tensor>> mixingWeights, IReadOnlyList<Tensor> alphas, Tensor x, Tensor y, ActivationPattern pattern)
    {
        using var pass = NewDisposeScope();
        using (no_grad())
        using (var step = shift.ToScalar())
            for (int i = 0; i < parameters.Length; i++) parameters[i].copy_(saved[i]).add_(direction[i], alpha: step);
        supernet.SetMixingWeights(mixingWeights());
        Tensor logits;
        using (pattern.Replay()) logits = supernet.call(x);
        var loss = nn.functional.cross_entropy(logits, y);
        var grads = autograd.grad([loss], [.. alphas], allow_unused: true);
        return Filled(grads, alphas).Select(g => g.detach().MoveToOuterDisposeScope()).ToArray();
    }

    /// <summary>
    /// The activation pattern of a network's ReLU modules on one forward pass (1[x &gt; 0] of each call's input, in call
    /// order), recorded and then imposed on later passes as x ↦ x·1[x₀ &gt; 0], so those passes differentiate the network
    /// linearised at the recorded pattern. Holds one byte per ReLU input until disposed.
    /// </summary>
    private sealed class ActivationPattern(nn.Module network) : IDisposable
    {
        private readonly ReLU[] relus = [.. network.modules().OfType<ReLU>()];
        private readonly Dictionary<ReLU, List<Tensor>> masks = [];

        /// <summary>Records the pattern of the passes run until the returned handle is disposed.</summary>
        public IDisposable Record()
        {
            Clear();
            return Hook((relu, input, output) =>
            {
                // Kept past the pass's dispose scope until this pattern is disposed.
                using var zero = 0.0.ToScalar();
                var mask = input.detach().gt(zero).DetachFromDisposeScope();
                (masks.TryGetValue(relu, out var list) ? list : masks[relu] = []).Add(mask);
                return output;
            });
        }

        /// <summary>Imposes the recorded pattern on the passes run until the returned handle is disposed: each ReLU's k-th
        /// call returns input·mask_k instead of relu(input). A pass that calls a ReLU more often than the recorded one throws.</summary>
        public IDisposable Replay()
        {
            var calls = new Dictionary<ReLU, int>();
            return Hook((relu, input, output) =>
            {
                int k = calls.GetValueOrDefault(relu);
                calls[relu] = k + 1;
                if (!masks.TryGetValue(relu, out var list) || k >= list.Count)
                    throw new InvalidOperationException("A ReLU was called more often than on the pass whose activation pattern was recorded.");
                var mask = list[k];
                if (!mask.shape.SequenceEqual(input.shape))
                    throw new InvalidOperationException($"A ReLU's input is [{string.Join(", ", input.shape)}] but its recorded pattern is [{string.Join(", ", mask.shape)}].");
                return input * mask;
            });
        }

        private IDisposable Hook(Func<ReLU, Tensor, Tensor, Tensor> hook)
        {
            var set = new HookSet();
            foreach (var relu in relus)
            {
                var r = relu;
                set.Add(r.register_forward_hook((_, input, output) => hook(r, input, output)));
            }
            return set;
        }

        private void Clear()
        {
            foreach (var mask in masks.Values.SelectMany(l => l)) mask.Dispose();
            masks.Clear();
        }

        public void Dispose() => Clear();
    }

    private static Tensor[] Filled(IList<Tensor> grads, IReadOnlyList<Tensor> alphas) =>
        [.. grads.Select((g, i) => g.IsInvalid ? zeros_like(alphas[i]) : g)];
}
