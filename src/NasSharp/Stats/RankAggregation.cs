namespace NasSharp.Stats;

/// <summary>
/// AZ-NAS's non-linear rank aggregation (Lee &amp; Ham, CVPR 2024, arXiv:2403.19232): over a set of N candidates,
/// s(a) = Σ_k log(rank_k(a) / N), rank_k ascending in score k (1 = worst, N = best; ties share their mean rank). Every
/// term is ≤ 0 and only the best candidate of score k has 0, so a candidate must rank high on every score to score high:
/// one bad rank costs more than one good rank gains.
/// </summary>
public static class RankAggregation
{
    /// <summary>
    /// s(a) for each candidate; <paramref name="components"/>[k][a] is score k of candidate a. A non-finite score ranks
    /// below every finite one of its component, tied with the other non-finite ones (it is ranked, never given a value).
    /// </summary>
    public static double[] SumOfLogRanks(IReadOnlyList<IReadOnlyList<double>> components)
    {
        ArgumentNullException.ThrowIfNull(components);
        if (components.Count == 0) throw new ArgumentException("Give at least one component score.", nameof(components));
        int n = components[0].Count;
        if (n == 0) throw new ArgumentException("Rank aggregation needs at least one candidate.", nameof(components));
        if (components.Any(c => c.Count != n))
            throw new ArgumentException($"Every component needs one score per candidate; their lengths are {string.Join(", ", components.Select(c => c.Count))}.", nameof(components));
        var sum = new double[n];
        foreach (var scores in components)
        {
            var ranks = RanksNonFiniteLast(scores);
            for (int a = 0; a < n; a++) sum[a] += Math.Log(ranks[a] / n);
        }
        return sum;
    }

    /// <summary>Average ranks (1-based, ascending) with the m non-finite scores sharing ranks 1..m.</summary>
    public static double[] RanksNonFiniteLast(IReadOnlyList<double> scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var finite = Enumerable.Range(0, scores.Count).Where(i => double.IsFinite(scores[i])).ToArray();
        int m = scores.Count - finite.Length;
        var finiteRanks = finite.Length == 0 ? [] : RankCorrelation.AverageRanks([.. finite.Select(i => scores[i])]);
        var ranks = Enumerable.Repeat((m + 1) / 2.0, scores.Count).ToArray();
        for (int j = 0; j < finite.Length; j++) ranks[finite[j]] = m + finiteRanks[j];
        return ranks;
    }
}
