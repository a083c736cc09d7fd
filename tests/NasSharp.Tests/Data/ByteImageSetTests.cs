using NasSharp.Data;
using Xunit;

namespace NasSharp.Tests.Data;

/// <summary>
/// An image set kept as bytes (decoded per sample on demand) against the same images decoded to floats up front, the way
/// every image set was loaded before: splits, normalisation statistics, normalised values and scoring batches must be
/// bit-identical, so no score computed on a batch changes.
/// </summary>
public sealed class ByteImageSetTests
{
    private static readonly int[] Shape = [3, 8, 8];

    private static (LabeledDataset Floats, LabeledDataset Bytes) Images(int count, int seed, string name)
    {
        var rng = new Random(seed);
        var pixels = new byte[count * 192];
        rng.NextBytes(pixels);
        // Channel 2 holds only a few levels, so its statistics differ clearly from the others'.
        for (int i = 0; i < pixels.Length; i++)
            if (i % 192 >= 128) pixels[i] = (byte)(pixels[i] % 7 * 30);
        var labels = Enumerable.Range(0, count).Select(_ => rng.Next(10)).ToArray();
        string[] classes = [.. Enumerable.Range(0, 10).Select(k => $"c{k}")];
        // The independent path: ToTensor's b / 255 in float32 for every value, materialised.
        var floats = new LabeledDataset(name, [.. pixels.Select(b => b / 255f)], labels, Shape, classes);
        var bytes = new LabeledDataset(name, pixels, (int[])labels.Clone(), Shape, classes, PixelLevels.UnitInterval(3));
        return (floats, bytes);
    }

    [Fact]
    public void SplitsStatisticsAndBatchesAreBitIdenticalToTheFloatPath()
    {
        var (trainF, trainB) = Images(600, 11, "toy/train");
        var (testF, testB) = Images(100, 12, "toy/test");
        var options = new SplitOptions(5) { ValidationSize = SplitSize.Count(60) };

        var (floatSplits, floatStats) = Normalization.Standardize(Splits.Make(new TrainTest(trainF, testF), options));
        var (byteSplits, byteStats) = Normalization.Standardize(Splits.Make(new TrainTest(trainB, testB), options));

        Assert.Equal(floatStats.Mean, byteStats.Mean);
        Assert.Equal(floatStats.Std, byteStats.Std);
        Assert.True(byteSplits.Train.IsBytes && byteSplits.Validation.IsBytes && byteSplits.Test.IsBytes);
        foreach (var (f, b) in new[] { (floatSplits.Train, byteSplits.Train), (floatSplits.Validation, byteSplits.Validation), (floatSplits.Test, byteSplits.Test) })
        {
            Assert.Equal(f.Labels, b.Labels);
            Assert.Equal(f.Features, b.Features);
        }

        foreach (long seed in new long[] { 1, 2, 3 })
        {
            var fromFloats = new BatchSource(floatSplits.Train, Shape, 10, InputKind.Real, LabelKind.True).Fixed(64, seed);
            var fromBytes = new BatchSource(byteSplits.Train, Shape, 10, InputKind.Real, LabelKind.True).Fixed(64, seed);
            Assert.Equal(fromFloats.Labels, fromBytes.Labels);
            Assert.Equal(fromFloats.Features, fromBytes.Features);
        }
    }

    [Fact]
    public void ASampleIsDecodedAloneAsTheWholeSetDecodes()
    {
        var (floats, bytes) = Images(20, 3, "toy");
        var sample = new float[192];
        bytes.CopySample(7, sample);
        Assert.Equal(floats.Features.AsSpan(7 * 192, 192).ToArray(), sample);
        Assert.Equal(floats.Features, bytes.Features);
        Assert.Throws<ArgumentOutOfRangeException>(() => bytes.CopySample(20, sample));
    }

    [Fact]
    public void LevelsMustMatchTheChannels()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            new LabeledDataset("x", new byte[192], [0], Shape, ["a"], PixelLevels.UnitInterval(1)));
        Assert.Contains("3", error.Message);
    }
}
