namespace NasSharp.Stats;

/// <summary>
/// Rank agreement between a score and a ground truth. Ties are handled as the standard definitions do:
/// Kendall's τ-b (Kendall 1945) corrects for ties in either variable; Spearman's ρ is Pearson's correlation
/// of average ranks. Non-finite values are refused: decide before calling how they rank.
/// </summary>
public static class RankCorrelation
{
    /// <summary>Kendall's τ-b = (C − D) / √((n₀ − n₁)(n₀ − n₂)). NaN when either variable is constant.</summary>
    public static double KendallTau(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        Check(x, y);
        int n = x.Count;
        long concordant = 0, discordant = 0, tiesX = 0, tiesY = 0;
        // O(n²) is exact and fast enough for the n ≤ 15,625 of a full NAS-Bench-201 sweep.
        for (int i = 0; i < n; i++)
        {
            for (int j = i + 1; j < n; j++)
            {
                int sx = Math.Sign(x[i] - x[j]), sy = Math.Sign(y[i] - y[j]);
                if (sx == 0 && sy == 0) { tiesX++; tiesY++; }
                else if (sx == 0) tiesX++;
                else if (sy == 0) tiesY++;
                else if (sx == sy) concordant++;
                else discordant++;
            }
        }
        long n0 = (long)n * (n - 1) / 2;
        double denominator = Math.Sqrt((double)(n0 - tiesX) * (n0 - tiesY));
        return denominator == 0 ? double.NaN : (concordant - discordant) / denominator;
    }

    /// <summary>Spearman's ρ: Pearson's correlation of average ranks. NaN when either variable is constant.</summary>
    public static double Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        Check(x, y);
        return Pearson(AverageRanks(x), AverageRanks(y));
    }

    public static double Pearson(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        Check(x, y);
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Count; i++)
        {
            double dx = x[i] - mx, dy = y[i] - my;
            sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
        }
        return sxx == 0 || syy == 0 ? double.NaN : sxy / Math.Sqrt(sxx * syy);
    }

    /// <summary>1-based ranks, ascending; tied values share the mean of the ranks they span.</summary>
    public static double[] AverageRanks(IReadOnlyList<double> values)
    {
        var order = Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Count];
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]]) end++;
            double rank = (start + end) / 2.0 + 1;
            for (int k = start; k <= end; k++) ranks[order[k]] = rank;
            start = end + 1;
        }
        return ranks;
    }

    /// <summary>
    /// Fraction of the true top-q (by <paramref name="truth"/>) that is also in the top-q by
    /// <paramref name="score"/>, with q = ⌈fraction·n⌉. Ties at the cut are broken by index, stated here
    /// because it can matter for heavily tied scores such as parameter counts.
    /// </summary>
    public static double TopOverlap(IReadOnlyList<double> score, IReadOnlyList<double> truth, double fraction = 0.1)
    {
        Check(score, truth);
        if (!(fraction > 0 && fraction <= 1)) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "Must be in (0, 1].");
        int q = (int)Math.Ceiling(fraction * score.Count);
        var topScore = Enumerable.Range(0, score.Count).OrderByDescending(i => score[i]).ThenBy(i => i).Take(q).ToHashSet();
        var topTruth = Enumerable.Range(0, truth.Count).OrderByDescending(i => truth[i]).ThenBy(i => i).Take(q);
        return topTruth.Count(topScore.Contains) / (double)q;
    }

    private static void Check(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count) throw new ArgumentException($"Both variables need the same length ({x.Count} vs {y.Count}).");
        if (x.Count < 2) throw new ArgumentException("Rank correlation needs at least two pairs.");
        if (x.Any(v => !double.IsFinite(v)) || y.Any(v => !double.IsFinite(v)))
            throw new ArgumentException("Rank correlation got a NaN or infinite value; rank non-finite scores explicitly before correlating.");
    }
}
