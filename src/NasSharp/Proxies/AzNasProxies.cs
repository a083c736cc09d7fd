using NasSharp.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Proxies;

/// <summary>
/// AZ-NAS's per-stage statistics (Lee &amp; Ham, CVPR 2024, arXiv:2403.19232, Sec. 3), from one forward pass of a Gaussian
/// batch through an <see cref="IStagedNetwork"/> (BN in train mode) and one vector–Jacobian product per pair of
/// consecutive stages.
/// </summary>
/// <param name="Entropies">Per stage, the entropy of its normalised feature-covariance eigenvalues (expressivity);
/// NaN for a stage whose features are constant.</param>
/// <param name="Trainabilities">Per pair of consecutive stages (stage k − 1 → k, k = 1, 2, …), 2 − σ_max − 1/σ_max of the
/// estimated stage Jacobian; −∞ for a stage that is the identity or whose output does not depend on its input.</param>
/// <param name="ExpressivityReason">Why some entropy is not finite, or null.</param>
/// <param name="TrainabilityReason">Why some trainability term is not finite, or null.</param>
/// <param name="NotApplicableReason">Why the network has no stages to measure, or null.</param>
public sealed record AzNasStages(IReadOnlyList<double> Entropies, IReadOnlyList<double> Trainabilities,
    string? ExpressivityReason, string? TrainabilityReason, string? NotApplicableReason);

/// <summary>AZ-NAS's stage statistics, computed once per architecture for the three proxies that read them.</summary>
public static class AzNasStatistics
{
    private static readonly OwnPass<AzNasStages> Pass = new("az-nas stages (forward + stage VJPs)", Compute);

    /// <summary>The context's network's stage statistics (on first use, then kept).</summary>
    public static AzNasStages AzNasStages(this ProxyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Compute(Pass);
    }

    /// <summary>
    /// Entropy of the eigenvalue distribution of a feature map's channel covariance: the map [B, C, …] as B·(positions)
    /// samples of C channels, Σ = the centred second moment (divided by the sample count), p = λ/Σλ, H = −Σ p ln p with
    /// 0 ln 0 = 0. Float64. NaN when every eigenvalue is 0 (constant features have no distribution).
    /// </summary>
    public static double CovarianceEntropy(Tensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        if (!features.isfinite().all().item<bool>()) return double.NaN;
        long c = features.shape[1];
        var f = features.detach().to_type(ScalarType.Float64).movedim(new long[] { 1 }, new long[] { -1 }).reshape(-1, c);
        f = f - f.mean(new long[] { 0 }, keepdim: true);
        var sigma = f.t().mm(f) / f.shape[0];
        // Σ is positive semi-definite: negative eigenvalues are rounding, and count as 0.
        var s = linalg.eigvalsh((sigma + sigma.t()) / 2).clamp_min(0);
        double total = s.sum().item<double>();
        if (!(total > 0)) return double.NaN;
        var p = s / total;
        var positive = p.masked_select(p > 0);
        return -(positive * positive.log()).sum().item<double>();
    }

    /// <summary>
    /// 2 − σ_max − 1/σ_max of the stage Jacobian estimated from a backpropagated signal: <paramref name="signalIn"/> =
    /// Jᵀ <paramref name="signalOut"/> with Rademacher entries; a stride-s stage's input signal is unshuffled into s² channel
    /// groups per output position (as the reference does with PixelUnshuffle); M = E[g_in g_outᵀ] over batch and positions
    /// (C_in × C_out), σ_max its largest singular value. Maximal (0) at σ_max = 1; −∞ at σ_max = 0.
    /// </summary>
    public static double StageTrainability(Tensor signalIn, Tensor signalOut)
    {
        ArgumentNullException.ThrowIfNull(signalIn);
        ArgumentNullException.ThrowIfNull(signalOut);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var gIn = signalIn.detach().to_type(ScalarType.Float64);
        var gOut = signalOut.detach().to_type(ScalarType.Float64);
        if (gIn.dim() == 4 && gOut.dim() == 4 && (gIn.shape[2] != gOut.shape[2] || gIn.shape[3] != gOut.shape[3]))
        {
            long s = gIn.shape[2] / gOut.shape[2];
            if (s * gOut.shape[2] != gIn.shape[2] || s * gOut.shape[3] != gIn.shape[3])
                throw new ArgumentException($"A stage maps {gIn.shape[2]}×{gIn.shape[3]} to {gOut.shape[2]}×{gOut.shape[3]}, not an integer stride.");
            long b = gIn.shape[0], ci = gIn.shape[1], ho = gOut.shape[2], wo = gOut.shape[3];
            gIn = gIn.reshape(b, ci, ho, s, wo, s).permute(0, 1, 3, 5, 2, 4).reshape(b, ci * s * s, ho, wo);
        }
        var rowsOut = gOut.movedim(new long[] { 1 }, new long[] { -1 }).reshape(-1, gOut.shape[1]);
        var rowsIn = gIn.movedim(new long[] { 1 }, new long[] { -1 }).reshape(-1, gIn.shape[1]);
        if (rowsOut.shape[0] != rowsIn.shape[0])
            throw new ArgumentException($"The stage's input and output signals have {rowsIn.shape[0]} and {rowsOut.shape[0]} positions.");
        var m = rowsIn.t().mm(rowsOut) / rowsOut.shape[0];
        double sigma = linalg.svdvals(m).max().item<double>();
        return 2 - sigma - 1 / sigma;
    }

    private static AzNasStages Compute(ProxyContext context)
    {
        var model = context.Network;
        if (model is not IStagedNetwork staged)
            return NotApplicable($"AZ-NAS compares the feature maps between stages; {model.GetType().Name} does not declare its stages (IStagedNetwork)");
        var stages = staged.Stages;
        if (stages.Count == 0) return NotApplicable("the network declares no stages");

        using var generator = new Generator(unchecked((ulong)Seeds.Derive(context.Seed, "az-nas")), context.Device);
        // The reference feeds Gaussian noise of the batch's shape, not the data.
        var x = randn(context.Inputs.shape, dtype: context.Inputs.dtype, device: context.Device, generator: generator).requires_grad_(true);
        var outputs = new List<Tensor>(stages.Count);
        try
        {
            using (context.UseBatchNorm(BatchNormMode.Train))
            using (enable_grad())
            {
                using (NetworkLayers.Observe(stages.Select((s, i) => ($"stage {i}", s)), (_, _, output) =>
                {
                    // The network's own dispose scope would free the stage outputs when its forward returns.
                    outputs.Add(output.DetachFromDisposeScope());
                    return null;
                }))
                {
                    model.call(x);
                }
                if (outputs.Count != stages.Count)
                    return NotApplicable($"{outputs.Count} stage outputs were seen for {stages.Count} stages: each stage must run once, invoked with call()");

                var entropies = outputs.Select(CovarianceEntropy).ToArray();
                int constant = Array.FindIndex(entropies, double.IsNaN);
                string? expressivityReason = constant < 0 ? null
                    : ProxyContext.NonFiniteEntries($"the features of stage {constant}", outputs[constant])
                      ?? $"the features of stage {constant} are constant over the batch and positions, so their covariance has no eigenvalue distribution";

                var trainabilities = new double[outputs.Count - 1];
                string? trainabilityReason = null;
                // From the last pair to the first, as the reference draws its signals.
                for (int k = outputs.Count - 1; k >= 1; k--)
                {
                    using var pairScope = NewDisposeScope();
                    var fOut = outputs[k];
                    var gOut = randint(0, 2, fOut.shape, dtype: fOut.dtype, device: context.Device, generator: generator) * 2 - 1;
                    var gIn = autograd.grad(new[] { fOut }, new[] { outputs[k - 1] }, new[] { gOut }, retain_graph: true, allow_unused: true)[0];
                    if (!gIn.IsInvalid && ProxyContext.NonFiniteEntries($"the signal backpropagated through stage {k}", gIn) is { } nonFinite)
                    {
                        trainabilities[k - 1] = double.NaN;
                        trainabilityReason ??= nonFinite;
                    }
                    else if (gIn.IsInvalid || (gIn == 0).all().item<bool>())
                    {
                        trainabilities[k - 1] = double.NegativeInfinity;
                        trainabilityReason ??= $"stage {k}'s output does not depend on its input (zero Jacobian)";
                    }
                    else if (gIn.shape.SequenceEqual(gOut.shape) && (gIn == gOut).all().item<bool>())
                    {
                        // σ_max = 1 would score the identity best; the reference scores an identity stage −∞ instead.
                        trainabilities[k - 1] = double.NegativeInfinity;
                        trainabilityReason ??= $"stage {k} is the identity map, which AZ-NAS scores −∞";
                    }
                    else
                    {
                        trainabilities[k - 1] = StageTrainability(gIn, gOut);
                        if (!double.IsFinite(trainabilities[k - 1]))
                            trainabilityReason ??= $"stage {k}'s estimated Jacobian gives 2 − σ_max − 1/σ_max = {trainabilities[k - 1]}";
                    }
                }
                return new AzNasStages(entropies, trainabilities, expressivityReason, trainabilityReason, null);
            }
        }
        finally
        {
            foreach (var t in outputs) t.Dispose();
        }
    }

    private static AzNasStages NotApplicable(string reason) => new([], [], null, null, reason);
}

/// <summary>
/// <c>az_expressivity</c> (AZ-NAS, Lee &amp; Ham, CVPR 2024, arXiv:2403.19232): the sum over stages of the entropy
/// of the normalised eigenvalues of each stage's feature covariance (<see cref="AzNasStatistics.CovarianceEntropy"/>); features
/// spread evenly over many directions score high. Stages are the <see cref="IStagedNetwork"/>'s (for NAS-Bench-201 the stem
/// and every cell and reduction block, 18 maps at N = 5). Input: a Gaussian batch of the batch's shape, seeded by the
/// context's seed; BN in train mode, as in the reference. Larger = predicted better.
/// </summary>
/// <remarks>
/// The reference initialises convolutions Kaiming-normal (fan-in) before scoring; here the network keeps its own
/// initialisation. Every convolution in an NB201 stage is followed by BN in train mode, which removes the weights' scale,
/// so only the shape of the weight distribution differs. The reference adds 1e-8 inside the logarithm; here 0 ln 0 = 0.
/// A stage whose features are constant (a cell whose output is always zero) has no eigenvalue distribution: the score
/// is then NaN with the stage named (the reference writes −∞).
/// </remarks>
public sealed class AzExpressivityProxy : IProxy
{
    public string Name => "az_expressivity";

    public ProxyRequirements Requirements { get; } = new(NeedsLabels: false, NeedsData: false, BatchNormMode.Train);

    public ProxyScore Score(ProxyContext context)
    {
        var stages = context.AzNasStages();
        if (stages.NotApplicableReason is not null) return ProxyScore.NotApplicable(stages.NotApplicableReason);
        if (stages.ExpressivityReason is not null) return ProxyScore.NonFinite(double.NaN, stages.ExpressivityReason);
        double sum = stages.Entropies.Sum();
        return ProxyScore.From(sum, () => $"the entropies sum to {sum}");
    }
}

/// <summary>
/// <c>az_progressivity</c> (AZ-NAS, Lee &amp; Ham, CVPR 2024, arXiv:2403.19232): the smallest increase of the
/// stage entropy of <see cref="AzExpressivityProxy"/> between consecutive stages, min_k (H_k − H_(k−1)); a network whose
/// expressivity grows at every stage scores high. Needs at least two stages. Larger = predicted better.
/// </summary>
public sealed class AzProgressivityProxy : IProxy
{
    public string Name => "az_progressivity";

    public ProxyRequirements Requirements { get; } = new(NeedsLabels: false, NeedsData: false, BatchNormMode.Train);

    public ProxyScore Score(ProxyContext context)
    {
        var stages = context.AzNasStages();
        if (stages.NotApplicableReason is not null) return ProxyScore.NotApplicable(stages.NotApplicableReason);
        if (stages.Entropies.Count < 2) return ProxyScore.NotApplicable("progressivity compares consecutive stages; the network has one stage");
        if (stages.ExpressivityReason is not null) return ProxyScore.NonFinite(double.NaN, stages.ExpressivityReason);
        double min = Enumerable.Range(1, stages.Entropies.Count - 1).Min(k => stages.Entropies[k] - stages.Entropies[k - 1]);
        return ProxyScore.From(min, () => $"the smallest entropy increase is {min}");
    }
}

/// <summary>
/// <c>az_trainability</c> (AZ-NAS, Lee &amp; Ham, CVPR 2024, arXiv:2403.19232): the mean over consecutive stage
/// pairs of 2 − σ_max − 1/σ_max, σ_max the largest singular value of the stage's Jacobian estimated by backpropagating a
/// Rademacher signal from the stage's output to its input (<see cref="AzNasStatistics.StageTrainability"/>); 0 when every
/// stage preserves the signal's norm (σ_max = 1), negative otherwise. Larger = predicted better.
/// </summary>
/// <remarks>
/// One forward pass, then one vector–Jacobian product per stage (together about one backward pass). As in the reference,
/// a stage that is exactly the identity (its input signal equals its output signal) scores −∞: otherwise the identity
/// would be the best stage. A stage whose output does not depend on its input has σ_max = 0 and also scores −∞ (the
/// reference divides by σ_max + 1e-6 instead). The mean is then −∞, reported as non-finite with the stage named.
/// </remarks>
public sealed class AzTrainabilityProxy : IProxy
{
    public string Name => "az_trainability";

    public ProxyRequirements Requirements { get; } = new(NeedsLabels: false, NeedsData: false, BatchNormMode.Train);

    public ProxyScore Score(ProxyContext context)
    {
        var stages = context.AzNasStages();
        if (stages.NotApplicableReason is not null) return ProxyScore.NotApplicable(stages.NotApplicableReason);
        if (stages.Trainabilities.Count == 0) return ProxyScore.NotApplicable("trainability needs two consecutive stages; the network has one stage");
        double mean = stages.Trainabilities.Average();
        return ProxyScore.From(mean, () => stages.TrainabilityReason ?? $"the mean trainability is {mean}");
    }
}
