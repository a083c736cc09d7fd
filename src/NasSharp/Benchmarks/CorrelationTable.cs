using NasSharp.Stats;

namespace NasSharp.Benchmarks;

/// <summary>One scored architecture: each proxy's score (possibly non-finite) and each target's accuracy.</summary>
public sealed record ScoredArchitecture(
    string Arch,
    IReadOnlyDictionary<string, double> Scores,
    IReadOnlyDictionary<string, double> Accuracies);

/// <summary>A proxy's agreement with one target (e.g. NB201 CIFAR-10 test accuracy).</summary>
public sealed record ProxyAgreement(double Kendall, double Spearman, double TopOverlap);

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
                var acc = items.Select(i => i.Accuracies.TryGetValue(target, out var a) ? a : double.NaN).ToArray();
                var keep = Enumerable.Range(0, items.Count).Where(k => double.IsFinite(acc[k])).ToArray();
                if (keep.Length < 2)
                {
                    agreements[target] = new ProxyAgreement(double.NaN, double.NaN, double.NaN);
                    continue;
                }
                var s = keep.Select(k => ranked[k]).ToArray();
                var a2 = keep.Select(k => acc[k]).ToArray();
                agreements[target] = new ProxyAgreement(
                    RankCorrelation.KendallTau(s, a2), RankCorrelation.Spearman(s, a2), RankCorrelation.TopOverlap(s, a2, TopFraction));
            }
            result.Add(new ProxyCorrelation(proxy, agreements, nonFinite, items.Count));
        }
        return result;
    }

    /// <summary>Non-finite scores mapped below the smallest finite one (for ranking only).</summary>
    public static double[] RankLast(IReadOnlyList<double> scores)
    {
        var finite = scores.Where(double.IsFinite).ToArray();
        double floor = finite.Length == 0 ? 0 : finite.Min() - 1 - Math.Abs(finite.Min());
        return scores.Select(v => double.IsFinite(v) ? v : floor).ToArray();
    }
}
