using NasSharp.Theory;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Proxies;

/// <summary>
/// <c>jacobian_isometry</c>: how far the network is from dynamical isometry at initialisation. For each input x_n, J_n =
/// ∂f(x_n)/∂x_n (K logits × d inputs, BN in eval mode so J_n is one sample's derivative); its K singular values s_k give the
/// spread Var_k(s²)/⟨s²⟩² (<see cref="JacobianSpectrum.Spread"/>: 0 when all singular values are equal). The score is
/// −(mean spread over the batch): larger = closer to isometry = predicted better. Labels are not used.
/// </summary>
/// <remarks>
/// Luo, Hu, Pang, Huang &amp; Liu (arXiv 2307.02263) select modules by a generalisation estimate that holds for
/// well-conditioned Jacobians; their exact score could not be read here (abstract only), so this proxy measures the standard
/// notion it builds on, the conditioning of the input–output Jacobian (Pennington, Schoenholz &amp; Ganguli 2017). The spread is
/// scale-free, so a network is not rewarded for the size of its logits, only for how evenly it stretches the directions it
/// maps to them. A network whose output does not depend on a sample's input (J_n = 0) has no spread: the score is NaN, with the reason.
/// </remarks>
public sealed class JacobianIsometryProxy : IProxy
{
    public string Name => "jacobian_isometry";

    public ProxyRequirements Requirements { get; } = new(NeedsLabels: false, NeedsData: true, BatchNormMode.Eval);

    public ProxyScore Score(ProxyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Classes < 2) return ProxyScore.NotApplicable("one logit has a single singular value, whose spread is always 0");
        var model = context.Network;
        int n = context.BatchSize, k = context.Classes;
        using var scope = NewDisposeScope();
        using var bn = context.UseBatchNorm(BatchNormMode.Eval);
        var jacobian = Jacobians(model, context.Inputs, k, scope, out _);
        var reason = ProxyContext.NonFiniteEntries("∂f/∂x", jacobian);
        if (reason is not null) return ProxyScore.NonFinite(double.NaN, reason);

        var singular = linalg.svdvals(jacobian).data<double>().ToArray(); // N × min(K, d)
        int m = singular.Length / n;
        double total = 0;
        var flat = new List<int>();
        for (int i = 0; i < n; i++)
        {
            double spread = JacobianSpectrum.Spread(new ArraySegment<double>(singular, i * m, m));
            if (double.IsNaN(spread)) flat.Add(i);
            total += spread;
        }
        if (flat.Count > 0)
            return ProxyScore.NonFinite(double.NaN,
                $"the output does not depend on the input of sample(s) {string.Join(", ", flat.Take(5))}{(flat.Count > 5 ? ", …" : "")} (J = 0), so its spread is undefined");
        double score = -total / n;
        return ProxyScore.From(score, () => $"the mean spread is {-score}");
    }

    /// <summary>
    /// The per-sample Jacobians ∂f(x_n)/∂x_n as [N, K, d] in float64 (eval-mode BN, so samples are independent), and how many
    /// backward passes they took: K, or the features of a linear head when it has fewer inputs than logits. The tensors
    /// live until <paramref name="scope"/> ends.
    /// </summary>
    internal static Tensor Jacobians(nn.Module<Tensor, Tensor> model, Tensor inputs, int classes, DisposeScope scope, out int passes)
    {
        int n = (int)inputs.shape[0];
        using var grad = enable_grad();
        var x = inputs.detach().clone().requires_grad_(true);
        var head = LinearHead.Observe(model, classes, scope);
        Tensor logits;
        try { logits = model.call(x); }
        finally { head?.Dispose(); }
        if (logits.dim() != 2 || logits.shape[0] != n || logits.shape[1] != classes)
            throw new ArgumentException($"The network must map [N, ...] to logits [N, {classes}]; for N = {n} it returned [{string.Join(", ", logits.shape)}].");
        // ∂(Σ_n v_c(x_n))/∂x_n is row c of ∂v(x_n)/∂x_n: one backward pass per component of v. When the logits are a linear
        // head's output W u + b with fewer features u than logits (NB201's 64 features, 100 or 120 classes), J_n = W ∂u_n/∂x_n
        // needs one pass per feature instead of one per logit.
        var through = head is not null && head.Produced(logits) ? head.Input! : logits;
        passes = (int)through.shape[1];
        var rows = new Tensor[passes];
        for (int c = 0; c < passes; c++)
        {
            var g = autograd.grad([through[TensorIndex.Colon, c].sum()], [x], retain_graph: c < passes - 1, allow_unused: true)[0];
            rows[c] = (g.IsInvalid ? zeros_like(x) : g).detach().reshape(n, -1).to_type(ScalarType.Float64);
        }
        var jacobian = stack(rows, 1); // [N, passes, d]
        return ReferenceEquals(through, logits) ? jacobian
            : matmul(head!.Weight.detach().to_type(ScalarType.Float64), jacobian); // [K, F] · [N, F, d] = [N, K, d]
    }

    /// <summary>
    /// The network's last <see cref="Linear"/> module while it has fewer inputs than the network has logits, observed
    /// during one forward pass: its input u (with its graph to x) and whether the logits are exactly its output.
    /// </summary>
    private sealed class LinearHead : IDisposable
    {
        private readonly Linear module;
        private readonly Action remove;
        private int calls;
        private Tensor? output;

        private LinearHead(Linear module, DisposeScope scope)
        {
            this.module = module;
            remove = module.register_forward_hook((_, input, result) =>
            {
                calls++;
                // Kept past the network's own dispose scope, graph and all, until the proxy's ends.
                Input?.Dispose();
                Input = input.alias().DetachFromDisposeScope();
                scope.Attach(Input);
                output = result;
                return result;
            }).remove;
        }

        public Tensor? Input { get; private set; }

        public Tensor Weight => module.weight!;

        public static LinearHead? Observe(nn.Module network, int logits, DisposeScope scope)
        {
            var last = NetworkLayers.LastLinear(network);
            return last?.weight is { } w && w.dim() == 2 && w.shape[0] == logits && w.shape[1] < logits ? new LinearHead(last, scope) : null;
        }

        /// <summary>
        /// Whether these logits are the head's only output, unchanged: the tensor it returned, and equal to W u + b recomputed
        /// (the same operation on the same input, so equal bit for bit). Otherwise the Jacobian is taken at the logits.
        /// </summary>
        public bool Produced(Tensor logits)
        {
            if (calls != 1 || Input is null || Input.dim() != 2 || !ReferenceEquals(logits, output)) return false;
            using var again = no_grad();
            using var recomputed = nn.functional.linear(Input, module.weight!, module.bias);
            return recomputed.shape.SequenceEqual(logits.shape) && recomputed.equal(logits).all().item<bool>();
        }

        /// <summary>Removes the hook; the kept input lives until the given scope ends.</summary>
        public void Dispose() => remove();
    }
}
