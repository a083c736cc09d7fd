namespace NasSharp.Stats;

/// <summary>
/// What a search that samples k architectures uniformly without replacement and keeps the one a score ranks first can
/// expect to find, in ground-truth terms: E[truth(argmax_{i∈S} score_i)] over all k-subsets S. It is the ceiling of a
/// "best of k by proxy" search (NASWOT's protocol) and, with a large k, of any search that maximises the score well.
/// Computed exactly, not by simulation: sort by score into groups of equal score; the chosen item comes from the highest
/// group that meets S, uniformly among that group's members in S (ties are broken at random), so by symmetry its
/// expected truth is the group's mean truth, and P(highest group met is g) = [C(n−a_g, k) − C(n−a_g−m_g, k)] / C(n, k),
/// a_g items above g, m_g in it.
/// </summary>
public static class BestOfK
{
    public static double Expected(IReadOnlyList<double> score, IReadOnlyList<double> truth, int k)
    {
        ArgumentNullException.ThrowIfNull(score);
        ArgumentNullException.ThrowIfNull(truth);
        if (score.Count != truth.Count) throw new ArgumentException($"score and truth need the same length ({score.Count} vs {truth.Count}).");
        int n = score.Count;
        if (k < 1 || k > n) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [1, {n}].");
        if (score.Any(v => !double.IsFinite(v)) || truth.Any(v => !double.IsFinite(v)))
            throw new ArgumentException("Best-of-k got a NaN or infinite value; rank non-finite scores explicitly first (CorrelationTable.RankLast).");
        var order = Enumerable.Range(0, n).OrderByDescending(i => score[i]).ToArray();
        double expected = 0;
        double missAbove = 1; // chance that S misses every item above the current group (none above the first)
        for (int start = 0; start < n;)
        {
            int end = start;
            while (end + 1 < n && score[order[end + 1]] == score[order[start]]) end++;
            int members = end - start + 1;
            double groupMean = 0;
            for (int j = start; j <= end; j++) groupMean += truth[order[j]];
            groupMean /= members;
            double missThrough = MissRatio(n, end + 1, k); // misses this group too
            expected += (missAbove - missThrough) * groupMean;
            missAbove = missThrough;
            start = end + 1;
        }
        return expected;
    }

    /// <summary>C(n − m, k) / C(n, k) = Π_{i&lt;k} (n − m − i)/(n − i): the chance that a k-subset misses m given items.
    /// The product form never overflows, unlike the binomials themselves (C(1000, 100) ≈ 6·10¹³⁹).</summary>
    private static double MissRatio(int n, int m, int k)
    {
        if (n - m < k) return 0;
        double p = 1;
        for (int i = 0; i < k; i++) p *= (double)(n - m - i) / (n - i);
        return p;
    }
}
