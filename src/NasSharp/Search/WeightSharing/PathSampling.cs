namespace NasSharp.Search.WeightSharing;

/// <summary>How a single-path supernet's paths are drawn at each training step.</summary>
public static class PathSampling
{
    /// <summary>One path, each choice point's candidate uniform and independent (SPOS, Guo et al., ECCV 2020, arXiv 1904.00420).</summary>
    public static int[] Uniform(IReadOnlyList<int> choiceCounts, Random rng)
    {
        Check(choiceCounts);
        ArgumentNullException.ThrowIfNull(rng);
        return [.. choiceCounts.Select(k => rng.Next(k))];
    }

    /// <summary>
    /// Strict fairness (FairNAS, Chu, Zhang &amp; Xu, ICCV 2021, arXiv 1907.01845, Alg. 1): m = max choice count paths, each choice
    /// point's candidates drawn without replacement across them, so every candidate of a point with m candidates appears in
    /// exactly one of the m paths. A point with k &lt; m candidates cycles through a shuffled order of them, so its candidates
    /// appear ⌊m/k⌋ or ⌈m/k⌉ times.
    /// </summary>
    public static int[][] Fair(IReadOnlyList<int> choiceCounts, Random rng)
    {
        Check(choiceCounts);
        ArgumentNullException.ThrowIfNull(rng);
        int m = choiceCounts.Max();
        var paths = new int[m][];
        for (int i = 0; i < m; i++) paths[i] = new int[choiceCounts.Count];
        for (int point = 0; point < choiceCounts.Count; point++)
        {
            int k = choiceCounts[point];
            var order = Enumerable.Range(0, k).ToArray();
            rng.Shuffle(order);
            // The k candidates, repeated to m and cut, then shuffled across paths.
            var column = Enumerable.Range(0, m).Select(i => order[i % k]).ToArray();
            rng.Shuffle(column);
            for (int i = 0; i < m; i++) paths[i][point] = column[i];
        }
        return paths;
    }

    private static void Check(IReadOnlyList<int> choiceCounts)
    {
        ArgumentNullException.ThrowIfNull(choiceCounts);
        if (choiceCounts.Count == 0 || choiceCounts.Any(k => k < 1))
            throw new ArgumentException($"Every choice point needs at least one candidate; got [{string.Join(", ", choiceCounts)}].", nameof(choiceCounts));
    }
}
