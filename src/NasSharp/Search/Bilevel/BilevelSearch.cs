using NasSharp.Networks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Search.Bilevel;

/// <summary>Which hypergradient the upper level follows.</summary>
public enum HypergradientOrder
{
    /// <summary>∇_α L_up(w, α) at the current weights (DARTS' first-order approximation).</summary>
    First,
    /// <summary>One unrolled weight step w' = w − ξ∇_w L_train(w, α), the mixed Hessian-vector product by finite differences (DARTS).</summary>
    Second,
    /// <summary>
    /// The implicit-function hypergradient at fitted weights: ∇_α L_up − ∇²_{αw} L_train H⁺ ∇_w L_up, H = ∇²_{ww} L_train,
    /// H⁻¹v in the least-squares sense by MINRES (the limit the unrolled step approximates with one step).
    /// </summary>
    Implicit,
}

/// <summary>Which split's loss the upper level minimises.</summary>
public enum UpperSplit
{
    /// <summary>The validation split: the train–validation bilevel search.</summary>
    Validation,
    /// <summary>The training split, the baseline that selects by training loss alone (the split the weights already fit).</summary>
    Training,
}

public sealed record BilevelOptions
{
    public int TrainPoints { get; init; } = 500;
    public int ValPoints { get; init; } = 250;
    /// <summary>Outer steps: each is <see cref="InnerSteps"/> weight steps, then one α step.</summary>
    public int Steps { get; init; } = 100;
    public int InnerSteps { get; init; } = 5;
    /// <summary>
    /// Weight steps at uniform α before the first α step (DARTS variants' warm-up): the hypergradient assumes weights near
    /// the lower level's solution, which the first outer steps otherwise lack. 0 (the default) starts α at once.
    /// </summary>
    public int WarmupSteps { get; init; }
    /// <summary>Learning rate of the weights' full-batch gradient descent on the training sample (also ξ of the unrolled step).</summary>
    public double WeightLr { get; init; } = 0.1;
    /// <summary>
    /// μ of the weights' heavy-ball momentum (v ← μv + ∇_w L_train, w ← w − lr·v; the state carries over between outer
    /// steps, as DARTS' weight optimiser's does); 0 is plain gradient descent.
    /// </summary>
    public double Momentum { get; init; }
    /// <summary>
    /// Learning rate of α's Adam steps (β = (0.5, 0.999) as DARTS'): about the largest change of a logit per step, whatever
    /// the scale of the hypergradient.
    /// </summary>
    public double AlphaLr { get; init; } = 0.1;
    public HypergradientOrder Order { get; init; } = HypergradientOrder.First;
    /// <summary>MINRES iterations of the implicit hypergradient's H⁻¹v (<see cref="HypergradientOrder.Implicit"/>).</summary>
    public int SolverIterations { get; init; } = 20;
    public UpperSplit Upper { get; init; } = UpperSplit.Validation;
    /// <summary>
    /// Judge α by the upper loss of the network's output times the scalar s* that minimises that loss at the current weights
    /// and α (a temperature for cross-entropy, a least-squares gain for squared loss), so that α is not rewarded for merely
    /// shrinking or growing an interpolant's outputs. s* is held fixed in the hypergradient, which is then still exact:
    /// ∂L/∂s = 0 at s* (the envelope theorem). That holds where the upper loss is taken at the current weights (first order,
    /// implicit); the second-order step takes it after one unrolled weight step, where the current weights' s* is only
    /// nearly optimal.
    /// </summary>
    public bool CalibrateUpper { get; init; }

    public void Validate()
    {
        if (TrainPoints < 2) throw new SettingException($"--train-points {TrainPoints}: need at least 2.");
        if (ValPoints < 1) throw new SettingException($"--val-points {ValPoints}: need at least 1.");
        if (Steps < 1) throw new SettingException($"--steps {Steps}: need at least 1.");
        if (InnerSteps < 0) throw new SettingException($"--inner-steps {InnerSteps}: must be non-negative.");
        if (WarmupSteps < 0) throw new SettingException($"--warmup-steps {WarmupSteps}: must be non-negative.");
        if (!(WeightLr > 0)) throw new SettingException($"--weight-lr {WeightLr}: must be positive.");
        if (!(Momentum >= 0 && Momentum < 1)) throw new SettingException($"--weight-momentum {Momentum}: must be in [0, 1).");
        if (!(AlphaLr > 0)) throw new SettingException($"--alpha-lr {AlphaLr}: must be positive.");
        if (SolverIterations < 1) throw new SettingException($"--solver-iterations {SolverIterations}: need at least 1.");
    }
}

/// <summary>The logits α per group after the search, and the losses of its last step.</summary>
public sealed record BilevelResult(IReadOnlyList<double[,]> Logits, double TrainLoss, double UpperLoss);

/// <summary>
/// Differentiable bilevel search (DARTS, Liu, Simonyan &amp; Yang, ICLR 2019; the train–validation analysis of Oymak, Li &amp;
/// Soltanolkotabi, ICML 2021): the supernet mixes with softmax(α); the lower level takes full-batch gradient steps on the
/// weights w on the training sample (heavy-ball momentum optional), the upper level an Adam step on α (as DARTS') along the
/// hypergradient of the loss of <see cref="UpperSplit"/>:
/// first order ∇_α L_up(w, α), or second order (DARTS Eq. 7–8)
///   ∇_α L_up(w', α) − ξ ∇²_{α,w} L_train(w, α) ∇_{w'} L_up(w', α),  w' = w − ξ ∇_w L_train(w, α),
/// with the Hessian-vector product by central differences (DARTS Eq. 8):
///   ∇²_{α,w} L_train(w, α) v ≈ (∇_α L_train(w + εv, α) − ∇_α L_train(w − εv, α)) / 2ε,  ε = 0.01/‖v‖.
/// </summary>
public static class BilevelSearch
{
    public static BilevelResult Run(RelaxedSupernet supernet, (Tensor X, Tensor Y) train, (Tensor X, Tensor Y) validation, BilevelOptions options,
        IProgress<int>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(supernet);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var dtype = supernet.parameters().First().dtype;
        var alpha = supernet.Groups.Select(g => zeros(new long[] { g.Edges, g.Operations.Count }, dtype: dtype).requires_grad_(true)).ToArray();
        var weights = supernet.parameters().ToArray();
        var upper = options.Upper == UpperSplit.Validation ? validation : train;
        var velocity = weights.Select(w => zeros_like(w).DetachFromDisposeScope()).ToArray();
        var adam = new Adam(alpha, options.AlphaLr);
        double trainLoss = double.NaN, upperLoss = double.NaN;
        void WeightStep()
        {
            using var innerScope = NewDisposeScope();
            var loss = Loss(supernet, alpha, train, detachAlpha: true);
            var grads = autograd.grad([loss], weights);
            using (no_grad())
                for (int k = 0; k < weights.Length; k++) weights[k].sub_(options.WeightLr * velocity[k].mul_(options.Momentum).add_(grads[k]));
            trainLoss = loss.ToDouble();
        }
        for (int warmup = 0; warmup < options.WarmupSteps; warmup++)
        {
            cancellation.ThrowIfCancellationRequested();
            WeightStep();
        }
        for (int step = 0; step < options.Steps; step++)
        {
            cancellation.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            for (int inner = 0; inner < options.InnerSteps; inner++) WeightStep();
            double scale = options.CalibrateUpper ? OptimalScale(supernet, alpha, upper) : 1;
            var hypergradient = options.Order switch
            {
                HypergradientOrder.First => autograd.grad([Loss(supernet, alpha, upper, detachAlpha: false, scale)], alpha),
                HypergradientOrder.Second => SecondOrder(supernet, alpha, weights, train, upper, options.WeightLr, scale),
                _ => Implicit(supernet, alpha, weights, train, upper, options.SolverIterations, scale),
            };
            adam.Step(hypergradient);
            using (no_grad()) upperLoss = Loss(supernet, alpha, upper, detachAlpha: true, scale).ToDouble();
            progress?.Report(step + 1);
        }
        var logits = alpha.Select(a =>
        {
            var values = a.detach().to(ScalarType.Float64).data<double>().ToArray();
            var array = new double[a.shape[0], a.shape[1]];
            Buffer.BlockCopy(values, 0, array, 0, values.Length * sizeof(double));
            return array;
        }).ToList();
        foreach (var a in alpha) a.Dispose();
        foreach (var v in velocity) v.Dispose();
        adam.Dispose();
        return new BilevelResult(logits, trainLoss, upperLoss);
    }

    /// <summary>
    /// The loss of the supernet mixing with softmax(α) per group: cross-entropy for class labels (integer targets), half
    /// the mean squared error (1/2n) ‖f(X) − Y‖² for real-valued targets (regression, e.g. the planted teacher).
    /// </summary>
    public static Tensor Loss(RelaxedSupernet supernet, IReadOnlyList<Tensor> alpha, (Tensor X, Tensor Y) batch, bool detachAlpha, double scale = 1)
    {
        ArgumentNullException.ThrowIfNull(supernet);
        ArgumentNullException.ThrowIfNull(alpha);
        supernet.SetMixingWeights([.. alpha.Select(a => nn.functional.softmax(detachAlpha ? a.detach() : a, 1))]);
        var output = supernet.call(batch.X);
        if (scale != 1) output = output * scale;
        return batch.Y.is_floating_point() ? 0.5 * (output - batch.Y).pow(2).mean() : nn.functional.cross_entropy(output, batch.Y);
    }

    /// <summary>
    /// The s &gt; 0 that minimises the loss of s·f(X) on <paramref name="batch"/> (<see cref="BilevelOptions.CalibrateUpper"/>):
    /// for squared loss ⟨f, y⟩/⟨f, f⟩ (at least 1e-6); for cross-entropy, which is convex in s, Newton's method on log s from
    /// s = 1, in float64.
    /// </summary>
    public static double OptimalScale(RelaxedSupernet supernet, IReadOnlyList<Tensor> alpha, (Tensor X, Tensor Y) batch)
    {
        ArgumentNullException.ThrowIfNull(supernet);
        ArgumentNullException.ThrowIfNull(alpha);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        supernet.SetMixingWeights([.. alpha.Select(a => nn.functional.softmax(a.detach(), 1))]);
        var f = supernet.call(batch.X).to(ScalarType.Float64);
        if (batch.Y.is_floating_point())
        {
            var y = batch.Y.to(ScalarType.Float64);
            double ff = f.pow(2).sum().ToDouble();
            return ff > 0 ? Math.Max(1e-6, (f * y).sum().ToDouble() / ff) : 1;
        }
        // d/du CE(e^u f) = s·mean_n(E_p[f] − f_y), d²/du² = that + s²·mean_n Var_p(f), p = softmax(s f).
        var fy = f.gather(1, batch.Y.unsqueeze(1)).squeeze(1);
        double u = 0;
        for (int i = 0; i < 50; i++)
        {
            double s = Math.Exp(u);
            var p = nn.functional.softmax(f * s, 1);
            var mean = (p * f).sum(1);
            double g = s * (mean - fy).mean().ToDouble();
            double h = g + s * s * ((p * f.pow(2)).sum(1) - mean.pow(2)).mean().ToDouble();
            double step = h > 0 ? g / h : Math.Sign(g);
            u -= Math.Clamp(step, -1, 1);
            u = Math.Clamp(u, -14, 14);
            if (Math.Abs(step) < 1e-10) break;
        }
        return Math.Exp(u);
    }

    /// <summary>
    /// Adam (Kingma &amp; Ba, ICLR 2015, arXiv 1412.6980) on the architecture logits with DARTS' β = (0.5, 0.999): the raw
    /// hypergradient of a near-interpolating lower level is orders of magnitude below one (it is a difference of validation
    /// losses that all sit near the same value), so a plain gradient step of a fixed learning rate leaves α at uniform and the
    /// argmax is noise; Adam's step is about the learning rate whatever that scale.
    /// </summary>
    private sealed class Adam(Tensor[] parameters, double lr) : IDisposable
    {
        private const double Beta1 = 0.5, Beta2 = 0.999, Epsilon = 1e-8;
        private readonly Tensor[] first = [.. parameters.Select(p => zeros_like(p).DetachFromDisposeScope())];
        private readonly Tensor[] second = [.. parameters.Select(p => zeros_like(p).DetachFromDisposeScope())];
        private int t;

        public void Step(IList<Tensor> gradients)
        {
            t++;
            double c1 = 1 - Math.Pow(Beta1, t), c2 = 1 - Math.Pow(Beta2, t);
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            for (int k = 0; k < parameters.Length; k++)
            {
                first[k].mul_(Beta1).add_(gradients[k], alpha: 1 - Beta1);
                second[k].mul_(Beta2).addcmul_(gradients[k], gradients[k], value: 1 - Beta2);
                parameters[k].sub_(lr * (first[k] / c1) / ((second[k] / c2).sqrt() + Epsilon));
            }
        }

        public void Dispose()
        {
            foreach (var x in first.Concat(second)) x.Dispose();
        }
    }

    /// <summary>The second-order hypergradient (DARTS Eq. 7 with the finite-difference product of Eq. 8); restores the weights.</summary>
    public static Tensor[] SecondOrder(RelaxedSupernet supernet, Tensor[] alpha, Parameter[] weights, (Tensor X, Tensor Y) train, (Tensor X, Tensor Y) upper, double xi,
        double upperScale = 1)
    {
        var saved = weights.Select(w => w.detach().clone()).ToArray();
        var trainGrads = autograd.grad([Loss(supernet, alpha, train, detachAlpha: true)], weights);
        using (no_grad())
            for (int k = 0; k < weights.Length; k++) weights[k].sub_(xi * trainGrads[k]);
        var all = autograd.grad([Loss(supernet, alpha, upper, detachAlpha: false, upperScale)], [.. alpha, .. weights]);
        var direct = all.Take(alpha.Length).ToArray();
        var v = all.Skip(alpha.Length).ToArray();
        using (no_grad())
            for (int k = 0; k < weights.Length; k++) weights[k].copy_(saved[k]);
        var hvp = MixedHessianVectorProduct(supernet, alpha, weights, train, v);
        return [.. direct.Select((d, g) => d - xi * hvp[g])];
    }

    /// <summary>
    /// ∇²_{α,w} L(w, α) v by central differences of ∇_α L along v (DARTS Eq. 8), ε = 0.01/‖v‖; the weights are restored.
    /// </summary>
    public static Tensor[] MixedHessianVectorProduct(RelaxedSupernet supernet, IReadOnlyList<Tensor> alpha, IReadOnlyList<Parameter> weights,
        (Tensor X, Tensor Y) batch, IReadOnlyList<Tensor> v)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(v);
        double norm = Math.Sqrt(v.Sum(t => t.pow(2).sum().ToDouble()));
        if (norm == 0) return [.. alpha.Select(a => zeros_like(a))];
        double epsilon = 0.01 / norm;
        var saved = weights.Select(w => w.detach().clone()).ToArray();
        IList<Tensor> GradientAt(double shift)
        {
            using (no_grad())
                for (int k = 0; k < weights.Count; k++) weights[k].add_(shift * v[k]);
            var g = autograd.grad([Loss(supernet, alpha, batch, detachAlpha: false)], [.. alpha]);
            // Copied back, not shifted back: w + εv − εv is not w in floating point.
            using (no_grad())
                for (int k = 0; k < weights.Count; k++) weights[k].copy_(saved[k]);
            return g;
        }
        var plus = GradientAt(epsilon);
        var minus = GradientAt(-epsilon);
        return [.. plus.Select((p, g) => (p - minus[g]) / (2 * epsilon))];
    }

    /// <summary>
    /// The implicit-function hypergradient (Pedregosa, ICML 2016, arXiv 1602.02355; Lorraine, Vicol, Duvenaud, AISTATS 2020,
    /// arXiv 1911.02590): at weights where ∇_w L_train = 0, dw/dα = −H⁻¹ ∇²_{wα} L_train, so
    ///   ∇_α L_up − ∇²_{αw} L_train q,  H q = ∇_w L_up,  H = ∇²_{ww} L_train.
    /// An overparameterised lower level has a singular H (every interpolant fits) and ∇_w L_up need not lie in its range, so
    /// q is a least-squares solution of H q = ∇_w L_up by MINRES (Paige &amp; Saunders, SIAM J. Numer. Anal. 1975), which
    /// converges on singular symmetric systems where conjugate gradient does not; at an interpolant the answer does not
    /// depend on which least-squares solution (H's null directions leave the training outputs unchanged). Hessian-vector
    /// products are exact (double backward).
    /// </summary>
    public static Tensor[] Implicit(RelaxedSupernet supernet, Tensor[] alpha, Parameter[] weights, (Tensor X, Tensor Y) train, (Tensor X, Tensor Y) upper, int iterations,
        double upperScale = 1)
    {
        ArgumentNullException.ThrowIfNull(alpha);
        ArgumentNullException.ThrowIfNull(weights);
        var all = autograd.grad([Loss(supernet, alpha, upper, detachAlpha: false, upperScale)], [.. alpha, .. weights]);
        var direct = all.Take(alpha.Length).ToArray();
        var b = all.Skip(alpha.Length).Select(t => t.detach()).ToArray();
        // ∇_w L_train with its graph in w and α: Hp = ∇_w ⟨∇_w L, p⟩, the mixed product ∇_α ⟨∇_w L, q⟩.
        var gradW = autograd.grad([Loss(supernet, alpha, train, detachAlpha: false)], weights, retain_graph: true, create_graph: true).ToArray();
        Tensor[] HessianProduct(Tensor[] p) => [.. autograd.grad([Dot(gradW, p)], weights, retain_graph: true).Select(t => t.detach())];
        var q = Minres(HessianProduct, b, iterations);
        var mixed = autograd.grad([Dot(gradW, q)], alpha, allow_unused: true);
        return [.. direct.Select((d, g) => mixed[g] is null ? d : d - mixed[g])];
    }

    private static Tensor Dot(IReadOnlyList<Tensor> a, IReadOnlyList<Tensor> b) => a.Select((t, k) => (t * b[k]).sum()).Aggregate((x, y) => x + y);

    private static double Value(IReadOnlyList<Tensor> a, IReadOnlyList<Tensor> b) => Dot(a, b).ToDouble();

    private static Tensor[] Combine(double ca, IReadOnlyList<Tensor> a, double cb, IReadOnlyList<Tensor> b) => [.. a.Select((t, k) => ca * t + cb * b[k])];

    /// <summary>
    /// MINRES without preconditioning (Paige &amp; Saunders 1975, in the form of SciPy's <c>minres</c>): x_k minimises
    /// ‖b − Ax‖ over the Krylov space K_k(A, b) of a symmetric A, so it needs no definiteness and, on a singular A, tends to
    /// a least-squares solution. Stops after <paramref name="iterations"/>, when the Lanczos vectors run out, when the
    /// residual estimate falls below 1e-10 of ‖b‖, or when ‖A r‖/(‖A‖ ‖r‖) falls below 1e-8 (a least-squares solution; the
    /// Lanczos vectors lose orthogonality in floating point soon after).
    /// </summary>
    public static Tensor[] Minres(Func<Tensor[], Tensor[]> apply, Tensor[] b, int iterations)
    {
        ArgumentNullException.ThrowIfNull(apply);
        ArgumentNullException.ThrowIfNull(b);
        var x = b.Select(t => zeros_like(t)).ToArray();
        double beta1 = Math.Sqrt(Value(b, b));
        if (beta1 == 0) return x;
        Tensor[] r1 = b, r2 = b, y = b;
        Tensor[] w = [.. b.Select(t => zeros_like(t))], w2 = w;
        double beta = beta1, oldBeta = 0, dbar = 0, epsilon = 0, phibar = beta1, cs = -1, sn = 0, tnorm2 = 0;
        for (int k = 0; k < iterations; k++)
        {
            var v = y.Select(t => t / beta).ToArray();
            y = apply(v);
            if (k > 0) y = Combine(1, y, -beta / oldBeta, r1);
            double alpha = Value(v, y);
            y = Combine(1, y, -alpha / beta, r2);
            r1 = r2;
            r2 = y;
            oldBeta = beta;
            beta = Math.Sqrt(Math.Max(Value(r2, y), 0));
            double oldEpsilon = epsilon;
            double delta = cs * dbar + sn * alpha;
            double gbar = sn * dbar - cs * alpha;
            epsilon = sn * beta;
            dbar = -cs * beta;
            // ‖A r‖ of the current x is phibar · root: root/‖A‖ below 1e-8 means x is already a least-squares solution, and
            // on a singular system the next rotation would divide by a vanishing γ (the step MINRES-QLP exists for).
            double root = Math.Sqrt(gbar * gbar + dbar * dbar);
            tnorm2 += alpha * alpha + oldBeta * oldBeta + beta * beta;
            double anorm = Math.Sqrt(tnorm2);
            if (root < 1e-8 * anorm) break;
            double gamma = Math.Sqrt(gbar * gbar + beta * beta);
            if (gamma <= 1e-14 * anorm) break;
            cs = gbar / gamma;
            sn = beta / gamma;
            double phi = cs * phibar;
            phibar = sn * phibar;
            var w1 = w2;
            w2 = w;
            w = [.. v.Select((t, i) => (t - oldEpsilon * w1[i] - delta * w2[i]) / gamma)];
            x = Combine(1, x, phi, w);
            if (beta <= 1e-14 * anorm || phibar < 1e-10 * beta1) break;
        }
        return x;
    }
}
