using System.Globalization;

namespace NasSharp.Data;

/// <summary>
/// The sizes a known dataset is published with: its training and test counts and, where the publication fixes them, the
/// count of every class in each. Files that load but hold other counts are incomplete (an archive cut short at an entry
/// boundary reads as a smaller one) or another dataset's, and would silently change every result computed on them.
/// </summary>
/// <param name="Dataset">The dataset's published name, for messages.</param>
public sealed record CanonicalCounts(string Dataset, int Train, int Test, int? TrainPerClass = null, int? TestPerClass = null)
{
    /// <summary>Throws a <see cref="DataFormatException"/> naming <paramref name="source"/> when the labels' counts differ from the published ones.</summary>
    public void Check(string source, IReadOnlyList<string> classNames, IReadOnlyCollection<int> trainLabels, IReadOnlyCollection<int> testLabels)
    {
        ArgumentNullException.ThrowIfNull(classNames);
        Check(source, "training", trainLabels, Train, TrainPerClass, classNames);
        Check(source, "test", testLabels, Test, TestPerClass, classNames);
    }

    private void Check(string source, string split, IReadOnlyCollection<int> labels, int expected, int? perClass, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(labels);
        string published = $"the published {Dataset} has {N(expected)}{(perClass is { } p ? $" ({N(p)} of each class)" : "")}";
        const string advice = "the files are incomplete (an archive cut short?) or not the published ones; re-download them";
        if (labels.Count != expected)
            throw new DataFormatException($"{source}: {N(labels.Count)} {split} samples, but {published}: {advice}");
        if (perClass is not { } each) return;
        var counts = new int[classNames.Count];
        foreach (var label in labels) counts[label]++;
        for (int c = 0; c < counts.Length; c++)
            if (counts[c] != each)
                throw new DataFormatException($"{source}: class '{classNames[c]}' has {N(counts[c])} {split} samples, but {published}: {advice}");
    }

    private static string N(int n) => n.ToString("N0", CultureInfo.InvariantCulture);
}
