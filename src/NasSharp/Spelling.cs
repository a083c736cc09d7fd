namespace NasSharp;

/// <summary>"Did you mean": the known name nearest a misspelt one, for error messages.</summary>
public static class Spelling
{
    /// <summary>
    /// The name of <paramref name="known"/> nearest <paramref name="given"/> by optimal-string-alignment distance (edits
    /// and swaps of neighbours, case ignored), when it is near enough to be a slip: at most one edit in four characters,
    /// at least one. Null when none is, or when two names are equally near (a guess would mislead).
    /// </summary>
    public static string? Closest(string given, IEnumerable<string> known)
    {
        ArgumentNullException.ThrowIfNull(given);
        ArgumentNullException.ThrowIfNull(known);
        int limit = Math.Max(1, given.Length / 4);
        string? best = null;
        int bestDistance = int.MaxValue;
        bool tie = false;
        foreach (var name in known.Distinct(StringComparer.Ordinal))
        {
            int d = Distance(given.ToLowerInvariant(), name.ToLowerInvariant());
            if (d > limit || d > bestDistance) continue;
            tie = d == bestDistance;
            (best, bestDistance) = (name, d);
        }
        return tie ? null : best;
    }

    /// <summary>" (did you mean X?)", or "" when no known name is near <paramref name="given"/>.</summary>
    public static string Suggestion(string given, IEnumerable<string> known) =>
        Closest(given, known) is { } name ? $" (did you mean {name}?)" : "";

    /// <summary>The optimal-string-alignment distance: insertions, deletions, substitutions and swaps of adjacent characters.</summary>
    public static int Distance(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        // Names are short; inputs are not (a 1 MB argument must not cost a 1 MB × name table).
        if (Math.Abs(a.Length - b.Length) > 8) return Math.Abs(a.Length - b.Length);
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}
