namespace NasSharp.Data;

/// <summary>MNIST handwritten digits (LeCun et al. 1998): 60,000 train / 10,000 test, 28x28 grey, shape [1, 28, 28].</summary>
public static class Mnist
{
    public static IReadOnlyList<string> ClassNames { get; } = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    /// <summary>60,000 training and 10,000 test images; the classes are not balanced.</summary>
    public static CanonicalCounts Canonical { get; } = new("MNIST", 60_000, 10_000);

    /// <summary>Loads the four IDX files (each gzipped or raw) from <paramref name="directory"/>.</summary>
    public static TrainTest Load(string directory) => IdxDatasets.Load(directory, "mnist", "MNIST", ClassNames, 28, 28);
}
