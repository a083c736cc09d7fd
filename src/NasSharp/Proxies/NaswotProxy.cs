using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Proxies;

/// <summary>
/// <c>naswot</c> (Mellor et al. ICML 2021, Sec. 3): each input's binary code c over all N_A ReLU units of the network
/// (1 where the unit's input is positive), K_H[i, j] = N_A − d_H(c_i, c_j), score = log|det K_H| (slogdet in float64).
/// Labels are not used; BN in train mode, as in the reference. Larger = predicted better (more distinct activation patterns).
/// </summary>
/// <remarks>
/// ReLU units are the outputs of <c>nn.ReLU</c> modules (each call counts) and, for <see cref="Networks.MlpNetwork"/>,
/// the hidden layers whose activation is <c>relu</c> (it applies activations functionally). A network without either is
/// not applicable. The reference code hooks every module whose type name contains "ReLU", which in NAS-Bench-201 also
/// matches the ReLUConvBN blocks and so counts the codes of their first ReLU twice; here each ReLU counts once, per the paper.
/// Two inputs with identical codes everywhere make K_H singular: log|det| = −∞ is reported as non-finite.
/// </remarks>
public sealed class NaswotProxy : IProxy
{
    public string Name => "naswot";

    public ProxyRequirements Requirements { get; } =
        new(NeedsLabels: false, NeedsData: true, BatchNormMode.Train, Observes: NaswotCodes.Probe);

    public ProxyScore Score(ProxyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var codes = context.ReluCodes();
        if (codes.Units == 0)
            return ProxyScore.NotApplicable("naswot needs ReLU units: nn.ReLU modules invoked with call(), or MlpNetwork hidden layers with relu");
        if (codes.NonFiniteReason is not null) return ProxyScore.NonFinite(double.NaN, codes.NonFiniteReason);
        using var scope = NewDisposeScope();
        var (_, logAbsDet) = linalg.slogdet(codes.Kernel);
        double value = logAbsDet.item<double>();
        return ProxyScore.From(value, () => double.IsNegativeInfinity(value)
            ? "K_H is singular (det = 0): some inputs have identical or linearly dependent ReLU codes"
            : $"log|det K_H| is {value}");
    }
}

/// <summary>
/// NASWOT's kernel (Mellor et al. ICML 2021, arXiv:2006.04647, Sec. 3): K[i, j] = N_A − d_H(c_i, c_j) with c_i the
/// binary code of input i over all N_A ReLU units (1 when the unit's input is positive), accumulated as
/// Σ_units c cᵀ + (1−c)(1−c)ᵀ in float64.
/// </summary>
public sealed record ReluCodeKernel(Tensor Kernel, long Units, string? NonFiniteReason);

/// <summary>NASWOT's kernel, measured on the <see cref="ProxyContext"/>'s shared train-mode pass.</summary>
public static class NaswotCodes
{
    internal static readonly TrainPassProbe<ReluCodeKernel> Probe =
        new("ReluCodes", needsLoss: false, (context, network) => new Observer(context, network));

    /// <summary>NASWOT's kernel over the context's batch (train-mode BN); owned by the context.</summary>
    public static ReluCodeKernel ReluCodes(this ProxyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Observe(Probe);
    }

    /// <summary>
    /// Hooks every ReLU site. With s = 2c − 1 ∈ {±1}, c cᵀ + (1−c)(1−c)ᵀ = (s sᵀ + 1)/2 per unit, so K = (Σ s sᵀ + N_A)/2:
    /// one Gram matrix product per site instead of two.
    /// </summary>
    private sealed class Observer : TrainPassObserver<ReluCodeKernel>
    {
        private readonly ProxyContext context;
        private readonly Tensor signGram;
        private readonly HookSet hooks;
        private long units;
        private string? reason;

        public Observer(ProxyContext context, nn.Module<Tensor, Tensor> network)
        {
            this.context = context;
            int n = context.BatchSize;
            signGram = zeros(new long[] { n, n }, dtype: ScalarType.Float64, device: context.Device);
            var sites = NetworkLayers.ReluSites(network);
            hooks = NetworkLayers.Observe(sites.Select(s => (s.Name, s.Module)), (name, _, output) =>
            {
                using var hookScope = NewDisposeScope();
                using var noGrad = no_grad();
                reason ??= ProxyContext.NonFiniteEntries($"the values at ReLU '{name}'", output);
                var flat = output.detach().reshape(n, -1);
                // Integer dot products of ±1 are exact in float32 up to 2^24 terms.
                var type = flat.shape[1] < (1L << 24) && flat.dtype == ScalarType.Float32 ? ScalarType.Float32 : ScalarType.Float64;
                var s = (flat > 0).to_type(type) * 2 - 1;
                signGram.add_(s.mm(s.t()).to_type(ScalarType.Float64));
                units += flat.shape[1];
                return null;
            });
        }

        public override ReluCodeKernel Complete(IReadOnlyList<Tensor> gradients) =>
            new(context.Own(((signGram + units) / 2).detach()), units, reason);

        public override void Dispose() => hooks.Dispose();
    }
}
