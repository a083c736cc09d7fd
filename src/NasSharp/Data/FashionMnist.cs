namespace NasSharp.Data;

/// <summary>Fashion-MNIST (Xiao et al. 2017): a drop-in MNIST replacement of clothing images, same IDX layout.</summary>
public static class FashionMnist
{
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>60,000 training and 10,000 test images, as MNIST.</summary>
    public static CanonicalCounts Canonical { get; } = new("Fashion-MNIST", 60_000, 10_000);

    /// <summary>Loads the four IDX files (each gzipped or raw) from <paramref name="directory"/>.</summary>
    public static TrainTest Load(string directory) => IdxDatasets.Load(directory, "fashion-mnist", "Fashion-MNIST", ClassNames, 28, 28);
}
