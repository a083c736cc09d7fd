using NasSharp.Stats;

namespace NasSharp.Benchmarks;

/// <summary>One scored architecture: each proxy's score (possibly non-finite) and each target's accuracy.</summary>
public sealed record ScoredArchitecture(
    string Arch,
    IReadOnlyDictionary<string, double> Scores,
    IReadOnlyDictionary<string, double> Accuracies);

/// <summary>A proxy's agreement with one target (e.g. NB201 CIFAR-10 test accuracy), and the target's expected value for
/// the proxy's pick among <see cref="CorrelationTable.BestOf"/> uniformly sampled architectures (<see cref="BestOfK"/>).</summary>
public sealed record ProxyAgreement(double Kendall, double Spearman, double TopOverlap, double BestOf);

/// <summary>What a target's best-of-k is measured against: a uniformly random pick (the mean) and a perfect score (the
/// best of k by the target itself).</summary>
public sealed record TargetReference(double Mean, double OracleBestOf);

/// <summary>A proxy's agreement with every target, and how many of its scores were not finite.</summary>
public sealed record ProxyCorrelation(string Proxy, IReadOnlyDictionary<string, ProxyAgreement> Targets, int NonFinite, int Count);

/// <summary>
/// Rank correlations of every proxy against every target. A non-finite score ranks last (below every
/// finite score, tied with the other non-finite ones) and is counted, as the harness promises; it is never
/// given a made-up value in the stored results.
/// </summary>
public static class CorrelationTable
{
    public const double TopFraction = 0.1;
    /// <summary>k of the best-of-k column: NASWOT's and our bench's search budget of 100 sampled cells.</summary>
    public const int BestOf = 100;

    public static IReadOnlyList<ProxyCorrelation> Compute(IReadOnlyList<ScoredArchitecture> items, IReadOnlyList<string> proxies, IReadOnlyList<string> targets)
    {
        ArgumentNullException.ThrowIfNull(items);
        var result = new List<ProxyCorrelation>();
        foreach (var proxy in proxies)
        {
            var raw = items.Select(i => i.Scores.TryGetValue(proxy, out var v) ? v : double.NaN).ToArray();
            int nonFinite = raw.Count(v => !double.IsFinite(v));
            var ranked = RankLast(raw);
            var agreements = new Dictionary<string, ProxyAgreement>();
            foreach (var target in targets)
            {
                var acc = Accuracies(items, target);
                var keep = Enumerable.Range(0, items.Count).Where(k => double.IsFinite(acc[k])).ToArray();
                if (keep.Length < 2)
                {
                    agreements[target] = new ProxyAgreement(double.NaN, double.NaN, double.NaN, double.NaN);
                    continue;
                }
                var s = keep.Select(k => ranked[k]).ToArray();
                var a2 = keep.Select(k => acc[k]).ToArray();
                agreements[target] = new ProxyAgreement(
                    RankCorrelation.KendallTau(s, a2), RankCorrelation.Spearman(s, a2), RankCorrelation.TopOverlap(s, a2, TopFraction),
                    BestOfK.Expected(s, a2, Math.Min(BestOf, s.Length)));
            }
            result.Add(new ProxyCorrelation(proxy, agreements, nonFinite, items.Count));
        }
        return result;
    }

    /// <summary>Each target's mean and oracle best-of-<see cref="BestOf"/> over the architectures that have it.</summary>
    public static IReadOnlyDictionary<string, TargetReference> References(IReadOnlyList<ScoredArchitecture> items, IReadOnlyList<string> targets)
    {
        ArgumentNullException.ThrowIfNull(items);
        var result = new Dictionary<string, TargetReference>();
        foreach (var target in targets)
        {
            var acc = Accuracies(items, target).Where(double.IsFinite).ToArray();
            result[target] = acc.Length == 0 ? new TargetReference(double.NaN, double.NaN)
                : new TargetReference(acc.Average(), BestOfK.Expected(acc, acc, Math.Min(BestOf, acc.Length)));
        }
        return result;
    }

    /// <summary>Each item's accuracy on <paramref name="target"/>, NaN where it has none.</summary>
    private static double[] Accuracies(IReadOnlyList<ScoredArchitecture> items, string target) =>
        items.Select(i => i.Accuracies.TryGetValue(target, out var a) ? a : double.NaN).ToArray();

    /// <summary>Non-finite scores mapped below the smallest finite one (for ranking only).</summary>
    public static double[] RankLast(IReadOnlyList<double> scores)
    {
        var finite = scores.Where(double.IsFinite).ToArray();
        double floor = finite.Length == 0 ? 0 : finite.Min() - 1 - Math.Abs(finite.Min());
        return scores.Select(v => double.IsFinite(v) ? v : floor).ToArray();
    }
}
