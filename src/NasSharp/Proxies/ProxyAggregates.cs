using NasSharp.Stats;

namespace NasSharp.Proxies;

/// <summary>
/// A score of a candidate relative to a set of candidates, from per-architecture proxies: it exists only over a scored
/// set (a correlation sample, a search's candidates), so it is not an <see cref="IProxy"/>.
/// </summary>
/// <param name="Name">The name <c>bench correlate --proxies</c> and <c>--strategy proxy</c> accept.</param>
/// <param name="Components">The registered proxies it aggregates, scored per architecture.</param>
public sealed record ProxyAggregate(string Name, IReadOnlyList<string> Components)
{
    /// <summary>The aggregate of every candidate: <paramref name="scores"/>[a] holds candidate a's component scores (NaN when not finite).</summary>
    public double[] Score(IReadOnlyList<IReadOnlyDictionary<string, double>> scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var components = Components.Select(c => (IReadOnlyList<double>)[.. scores.Select(s =>
            s.TryGetValue(c, out var v) ? v : throw new ArgumentException($"{Name} needs {c}, which a candidate was not scored on.", nameof(scores)))]).ToArray();
        return RankAggregation.SumOfLogRanks(components);
    }
}

/// <summary>Every aggregate of proxies NasSharp implements, in one explicit table.</summary>
public static class ProxyAggregates
{
    private static readonly ProxyAggregate[] Table =
    [
        // AZ-NAS (Lee & Ham, CVPR 2024, arXiv:2403.19232). Its complexity proxy is the network's FLOPs (the
        // reference reads them from the benchmark's table), which is our flops.
        new("az_nas", ["az_expressivity", "az_progressivity", "az_trainability", "flops"]),
        // NasSharp's ensemble: AZ-NAS's four, plus one proxy per further property theory ties to trainability and
        // generalisation, each with equal weight and nothing fitted to accuracies: activation-pattern diversity
        // (swap: the number of linear regions a ReLU network realises on the batch), the spectrum of the features'
        // correlation (meco: its smallest eigenvalue, the quantity that bounds an NTK's λ_min from below), and
        // signal flow through every parameter (synflow: data-free saliency, which grows with useful width). The
        // gradient signal-to-noise ratio (zico) would fit too, but its extra passes double the cost of a cell.
        new("ensemble", ["az_expressivity", "az_progressivity", "az_trainability", "flops", "swap", "meco", "synflow"]),
        // The ensemble with the two properties it leaves out for cost: the NTK's spectrum (λ_min/(tr Θ/N) with batch norm
        // normalising by the batch's statistics, the form of λ_min that ranks cell networks, which is the eigen
        // strategy's default there) and the gradient signal-to-noise ratio (zico). About twice the ensemble's cost.
        new("ensemble_full", ["az_expressivity", "az_progressivity", "az_trainability", "flops", "swap", "meco", "synflow", "zico", "ntk_min_eig_bnfix_tr"]),
    ];

    public static IReadOnlyList<ProxyAggregate> All { get; } = Table;

    public static IReadOnlyList<string> Names { get; } = Table.Select(a => a.Name).ToArray();

    /// <summary>The aggregate called <paramref name="name"/>, or null.</summary>
    public static ProxyAggregate? Find(string name) => Table.FirstOrDefault(a => a.Name == name?.Trim());
}
