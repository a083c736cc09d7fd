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
        new(NeedsLabels: false, NeedsData: true, BatchNormMode.Train, Shares: SharedComputation.ReluCodes);

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
