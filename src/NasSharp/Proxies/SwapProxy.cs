using static TorchSharp.torch;

namespace NasSharp.Proxies;

/// <summary>
/// SWAP's sample-wise activation patterns (Peng et al., ICLR 2024, arXiv:2403.04161, Sec. 3.2): over a batch of B inputs,
/// each ReLU unit's pattern is its B signs 1[z &gt; 0] (the sign of the ReLU's output, which is 0 or positive); the count is
/// the number of distinct patterns among all units.
/// </summary>
/// <param name="Patterns">Distinct patterns.</param>
/// <param name="Units">ReLU units seen (each call of a ReLU counts its C·H·W units).</param>
/// <param name="Batch">B, the samples each pattern spans.</param>
/// <param name="NonFiniteReason">Where NaN/Inf reached a ReLU, or null.</param>
public sealed record ActivationPatterns(long Patterns, long Units, int Batch, string? NonFiniteReason);

/// <summary>SWAP's pattern count, computed once per architecture for <c>swap</c> and <c>swap_reg</c>.</summary>
public static class SwapPatterns
{
    /// <summary>B of the reference (its <c>input_samples</c>): the first 16 samples of the batch, or all when fewer.</summary>
    public const int DefaultBatch = 16;

    /// <summary>Patterns are packed into one 64-bit integer per unit, so B is at most 63.</summary>
    public const int MaxBatch = 63;

    private static readonly OwnPass<ActivationPatterns> Pass = new("swap patterns (forward of 16 samples)", Compute);

    /// <summary>The activation patterns of the context's network over the first <see cref="DefaultBatch"/> samples (train-mode BN).</summary>
    public static ActivationPatterns ActivationPatterns(this ProxyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Compute(Pass);
    }

    /// <summary>
    /// Each unit's pattern over the batch as one integer: bit n is 1[z &gt; 0] of sample n. <paramref name="reluOutput"/> is
    /// [B, …] (one ReLU call); the result has one code per unit, int64.
    /// </summary>
    public static Tensor PatternCodes(Tensor reluOutput)
    {
        ArgumentNullException.ThrowIfNull(reluOutput);
        long batch = reluOutput.shape[0];
        if (batch < 1 || batch > MaxBatch) throw new ArgumentOutOfRangeException(nameof(reluOutput), batch, $"SWAP packs a pattern into 64 bits: B must be in 1..{MaxBatch}.");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var bits = pow(full(1, 2L, dtype: ScalarType.Int64, device: reluOutput.device), arange(batch, dtype: ScalarType.Int64, device: reluOutput.device)).reshape(batch, 1);
        return ((reluOutput.detach().reshape(batch, -1) > 0).to_type(ScalarType.Int64) * bits).sum(new long[] { 0 }).MoveToOuterDisposeScope();
    }

    /// <summary>The number of distinct codes among all units of all ReLU calls.</summary>
    public static long CountDistinct(IReadOnlyList<Tensor> codes)
    {
        ArgumentNullException.ThrowIfNull(codes);
        if (codes.Count == 0) return 0;
        using var scope = NewDisposeScope();
        return cat(codes.ToArray()).unique().Item1.shape[0];
    }

    private static ActivationPatterns Compute(ProxyContext context)
    {
        var model = context.Network;
        int b = Math.Min(DefaultBatch, context.BatchSize);
        var sites = NetworkLayers.ReluSites(model);
        var codes = new List<Tensor>();
        string? reason = null;
        try
        {
            using (context.UseBatchNorm(BatchNormMode.Train))
            using (no_grad())
            using (NetworkLayers.Observe(sites.Select(s => (s.Name, s.Module)), (name, _, output) =>
            {
                reason ??= ProxyContext.NonFiniteEntries($"the values at ReLU '{name}'", output);
                codes.Add(PatternCodes(output).DetachFromDisposeScope());
                return null;
            }))
            {
                model.call(context.Inputs.narrow(0, 0, b));
            }
            return new ActivationPatterns(CountDistinct(codes), codes.Sum(c => c.numel()), b, reason);
        }
        finally
        {
            foreach (var c in codes) c.Dispose();
        }
    }
}

/// <summary>
/// <c>swap</c> (Peng et al., ICLR 2024, arXiv:2403.04161): the number of distinct sample-wise activation patterns
/// of the network's ReLU units over the first 16 samples of the batch (<see cref="SwapPatterns"/>), BN in train mode.
/// Labels are not used. Larger = predicted better.
/// </summary>
/// <remarks>
/// Units are the outputs of <c>nn.ReLU</c> modules (each call counts) and <see cref="Networks.MlpNetwork"/>'s relu layers;
/// the reference hooks <c>nn.ReLU</c> modules of convolutional networks only. The reference averages the score over 32
/// re-initialisations with N(0, 1) weights; here one network, seeded by the evaluation's seed, in its own initialisation.
/// In NB201 every ReLU input is a sum of BN outputs, so the weights' scale does not change the signs.
/// </remarks>
public sealed class SwapProxy : IProxy
{
    public string Name => "swap";

    public ProxyRequirements Requirements { get; } = new(NeedsLabels: false, NeedsData: true, BatchNormMode.Train);

    public ProxyScore Score(ProxyContext context) => SwapScore(context, regular: 1);

    internal static ProxyScore SwapScore(ProxyContext context, double regular)
    {
        ArgumentNullException.ThrowIfNull(context);
        var patterns = context.ActivationPatterns();
        if (patterns.Units == 0)
            return ProxyScore.NotApplicable("swap needs ReLU units: nn.ReLU modules invoked with call(), or MlpNetwork hidden layers with relu");
        if (patterns.NonFiniteReason is not null) return ProxyScore.NonFinite(double.NaN, patterns.NonFiniteReason);
        double value = patterns.Patterns * regular;
        return ProxyScore.From(value, () => $"the pattern count times the regulariser is {value}");
    }
}

/// <summary>
/// <c>swap_reg</c> (Peng et al., ICLR 2024, arXiv:2403.04161): <see cref="SwapProxy"/>'s count times
/// exp(−(Θ − μ)²/σ), Θ the trainable parameter count in millions; the factor steers the ranking towards networks of about
/// μ million parameters. Larger = predicted better.
/// </summary>
/// <remarks>
/// The paper sets μ and σ per search space to control model size; we could not confirm its NAS-Bench-201 values, so the
/// defaults μ = σ = 1.5 are ours: over NB201's sizes (0.07 M to 1.53 M at C = 16) the factor rises with size, from 0.26 to 1.
/// The reference counts parameters in thousands, so its μ and σ are in those units.
/// </remarks>
public sealed class SwapRegularisedProxy(double mu = 1.5, double sigma = 1.5) : IProxy
{
    public string Name => "swap_reg";

    /// <summary>μ, in millions of parameters.</summary>
    public double Mu { get; } = double.IsFinite(mu) ? mu : throw new ArgumentOutOfRangeException(nameof(mu), mu, "μ must be finite.");

    /// <summary>σ, in (millions of parameters)².</summary>
    public double Sigma { get; } = sigma > 0 && double.IsFinite(sigma) ? sigma : throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "σ must be positive.");

    public ProxyRequirements Requirements { get; } = new(NeedsLabels: false, NeedsData: true, BatchNormMode.Train);

    public ProxyScore Score(ProxyContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        double millions = NetworkLayers.TrainableParameters(context.Network).Sum(p => p.numel()) / 1e6;
        return SwapProxy.SwapScore(context, Math.Exp(-(millions - Mu) * (millions - Mu) / Sigma));
    }
}
