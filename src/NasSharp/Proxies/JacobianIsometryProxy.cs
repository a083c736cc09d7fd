using NasSharp.Theory;
using TorchSharp;
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
        Tensor jacobian;
        using (enable_grad())
        {
            var x = context.Inputs.detach().clone().requires_grad_(true);
            var logits = model.call(x);
            if (logits.dim() != 2 || logits.shape[0] != n || logits.shape[1] != k)
                throw new ArgumentException($"The network must map [N, ...] to logits [N, {k}]; for N = {n} it returned [{string.Join(", ", logits.shape)}].");
            // Samples are independent in eval mode, so ∂(Σ_n f_k(x_n))/∂x_n is row k of J_n: one backward pass per logit.
            var rows = new Tensor[k];
            for (int c = 0; c < k; c++)
            {
                var g = autograd.grad([logits[TensorIndex.Colon, c].sum()], [x], retain_graph: c < k - 1, allow_unused: true)[0];
                rows[c] = (g.IsInvalid ? zeros_like(x) : g).detach().reshape(n, -1).to_type(ScalarType.Float64);
            }
            jacobian = stack(rows, 1); // [N, K, d]
        }
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
}
