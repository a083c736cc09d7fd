using NasSharp.Data;
using Xunit;

namespace NasSharp.Tests.Data;

public sealed class MnistTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static byte Pixel(int i, int r, int c) => (byte)((i * 31 + r * 28 + c) % 256);

    /// <summary>Plants a MNIST folder; the train pair is gzipped, the test pair raw, to exercise both name forms.</summary>
    private void Plant(int trainImages = 4, int trainLabels = 4, int testCount = 2, byte maxLabel = 9)
    {
        File.WriteAllBytes(_dir.File("train-images-idx3-ubyte.gz"), TestFiles.Gzip(TestFiles.IdxImages(trainImages, 28, 28, Pixel)));
        File.WriteAllBytes(_dir.File("train-labels-idx1-ubyte.gz"),
            TestFiles.Gzip(TestFiles.IdxLabels(Enumerable.Range(0, trainLabels).Select(i => (byte)(i == 0 ? maxLabel : i % 10)).ToArray())));
        File.WriteAllBytes(_dir.File("t10k-images-idx3-ubyte"), TestFiles.IdxImages(testCount, 28, 28, Pixel));
        File.WriteAllBytes(_dir.File("t10k-labels-idx1-ubyte"), TestFiles.IdxLabels(Enumerable.Repeat((byte)3, testCount).ToArray()));
    }

    [Fact]
    public void LoadsPlantedFolderWithShapeAndClassNames()
    {
        Plant();

        var (train, test) = Mnist.Load(_dir.Path);

        Assert.Equal(4, train.Count);
        Assert.Equal([1, 28, 28], train.SampleShape);
        Assert.Equal([9, 1, 2, 3], train.Labels);
        Assert.Equal(Pixel(2, 5, 7) / 255f, train.Features[2 * 784 + 5 * 28 + 7]);
        Assert.NotNull(test);
        Assert.Equal([3, 3], test.Labels);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => i.ToString()), train.ClassNames);
    }

    [Fact]
    public void FashionMnistUsesItsClassNames()
    {
        Plant();

        var (train, _) = FashionMnist.Load(_dir.Path);

        Assert.Equal("T-shirt/top", train.ClassNames[0]);
        Assert.Equal("Ankle boot", train.ClassNames[9]);
        Assert.Equal("fashion-mnist/train", train.Name);
    }

    [Fact]
    public void ImageLabelCountMismatchNamesBothFiles()
    {
        Plant(trainImages: 4, trainLabels: 3);

        var ex = Assert.Throws<DataFormatException>(() => Mnist.Load(_dir.Path));

        Assert.Equal(
            $"images file {_dir.File("train-images-idx3-ubyte.gz")} has 4 samples but labels file {_dir.File("train-labels-idx1-ubyte.gz")} has 3",
            ex.Message);
    }

    [Fact]
    public void LabelOutsideClassRangeIsRejected()
    {
        Plant(maxLabel: 12);

        var ex = Assert.Throws<DataFormatException>(() => Mnist.Load(_dir.Path));

        Assert.Equal($"{_dir.File("train-labels-idx1-ubyte.gz")}: label 12 at index 0 is outside 0..9", ex.Message);
    }

    [Fact]
    public void MissingFileExplainsWhatIsExpectedAndHowToConfigure()
    {
        Plant();
        File.Delete(_dir.File("t10k-labels-idx1-ubyte"));

        var ex = Assert.Throws<DataNotFoundException>(() => Mnist.Load(_dir.Path));

        Assert.StartsWith($"missing file {_dir.File("t10k-labels-idx1-ubyte")}(.gz): expected MNIST IDX files train-images-idx3-ubyte(.gz)", ex.Message);
        Assert.EndsWith("set --data-dir or NASSHARP_DATA", ex.Message);
    }

    [Fact]
    public void MissingDirectoryIsDataNotFound()
    {
        var missing = _dir.File("absent");

        var ex = Assert.Throws<DataNotFoundException>(() => Mnist.Load(missing));

        Assert.StartsWith($"missing directory {missing}: expected MNIST IDX files", ex.Message);
    }

    [Fact]
    public void WrongImageSizeIsRejected()
    {
        Plant();
        File.WriteAllBytes(_dir.File("t10k-images-idx3-ubyte"), TestFiles.IdxImages(2, 32, 32, Pixel));

        var ex = Assert.Throws<DataFormatException>(() => Mnist.Load(_dir.Path));

        Assert.Equal($"{_dir.File("t10k-images-idx3-ubyte")}: expected 28x28 images, found 32x32", ex.Message);
    }

    // Published MNIST label histograms (LeCun's files): the test set's first label is 7.
    private static readonly int[] MnistTestHistogram = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];
    private static readonly int[] MnistTrainHistogram = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];

    [Fact]
    public void RealMnistMatchesPublishedCounts()
    {
        var (train, test) = Mnist.Load(Path.Combine(TestFiles.RealDataRoot, "mnist"));

        Assert.NotNull(test);
        Assert.Equal(10_000, test.Count);
        Assert.Equal(7, test.Labels[0]);
        Assert.Equal(MnistTestHistogram, test.ClassCounts());
        Assert.Equal(60_000, train.Count);
        Assert.Equal(MnistTrainHistogram, train.ClassCounts());
        Assert.InRange(test.Features.Max(), 0.99f, 1f);
        Assert.Equal(0f, test.Features.Min());
    }

    [Fact]
    public void RealFashionMnistTestSetIsBalanced()
    {
        var (_, test) = FashionMnist.Load(Path.Combine(TestFiles.RealDataRoot, "fashion-mnist"));

        Assert.NotNull(test);
        Assert.Equal(Enumerable.Repeat(1000, 10), test.ClassCounts());
        Assert.Equal(9, test.Labels[0]); // an ankle boot, as in the Fashion-MNIST README's first test image
    }
}
