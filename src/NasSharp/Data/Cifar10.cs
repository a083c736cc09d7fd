namespace NasSharp.Data;

/// <summary>
/// CIFAR-10 (Krizhevsky 2009): 50,000 train / 10,000 test RGB images of 32x32, shape [3, 32, 32] in [0, 1].
/// Reads, in this order of preference from a <c>cifar10/</c> folder: the canonical binary batches
/// (<c>cifar-10-batches-bin/</c>, or that folder's files directly), their tarball
/// (<c>cifar-10-binary.tar.gz</c>), or the JPEG tarball of class folders (<c>cifar10-images-jpeg.tar.gz</c>).
/// </summary>
public static class Cifar10
{
    public const string BinaryDirectoryName = "cifar-10-batches-bin";
    public const string BinaryTarballName = "cifar-10-binary.tar.gz";
    public const string JpegTarballName = "cifar10-images-jpeg.tar.gz";
    public const int Channels = 3, Height = 32, Width = 32;

    /// <summary>The standard class order, which is also the alphabetical order of the JPEG tarball's folders.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>50,000 training and 10,000 test images, 5,000 and 1,000 of each class.</summary>
    public static CanonicalCounts Canonical { get; } = new("CIFAR-10", 50_000, 10_000, 5_000, 1_000);

    /// <param name="expected">Counts a decode must have to be cached (the catalog passes <see cref="Canonical"/>).</param>
    public static TrainTest Load(string directory, string? cacheDirectory = null, IProgress<(int done, int total)>? progress = null,
        CanonicalCounts? expected = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var batches = Path.Combine(directory, BinaryDirectoryName);
        if (Directory.Exists(batches)) return LoadBinaryBatches(batches);
        if (File.Exists(Path.Combine(directory, Cifar10Binary.TestBatch))) return LoadBinaryBatches(directory);
        var binaryTar = Path.Combine(directory, BinaryTarballName);
        if (File.Exists(binaryTar)) return LoadBinaryTarball(binaryTar);
        var jpegTar = Path.Combine(directory, JpegTarballName);
        if (File.Exists(jpegTar)) return LoadJpegTarball(jpegTar, cacheDirectory, progress, expected).Data;
        throw new DataNotFoundException(
            $"missing CIFAR-10 data in {directory}: expected a folder {BinaryDirectoryName}/ (data_batch_1..5.bin, test_batch.bin), " +
            $"a file {BinaryTarballName}, or a file {JpegTarballName}; set --data-dir or {DataDirectory.EnvironmentVariable}");
    }

    /// <summary>Reads data_batch_1..5.bin and test_batch.bin (and batches.meta.txt for class names, if present) from a folder.</summary>
    public static TrainTest LoadBinaryBatches(string batchesDirectory) => Cifar10Binary.LoadDirectory(batchesDirectory, ClassNames);

    /// <summary>Reads the batch files from a tar (gzipped or not) such as the official cifar-10-binary.tar.gz.</summary>
    public static TrainTest LoadBinaryTarball(string tarPath) => Cifar10Binary.LoadTarball(tarPath, ClassNames);

    /// <summary>Decodes the JPEG tarball (or reads its cache); see <see cref="ImageFolderTarball"/>.</summary>
    public static ImageTarballLoad LoadJpegTarball(string tarPath, string? cacheDirectory = null, IProgress<(int done, int total)>? progress = null,
        CanonicalCounts? expected = null) =>
        ImageFolderTarball.Load(tarPath, "cifar10", Channels, Height, Width, cacheDirectory, progress, expected);
}
