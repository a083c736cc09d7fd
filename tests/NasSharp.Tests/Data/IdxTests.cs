using NasSharp.Data;
using Xunit;

namespace NasSharp.Tests.Data;

public sealed class IdxTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static byte Pixel(int i, int r, int c) => (byte)(i * 50 + r * 7 + c * 3);

    [Theory]
    [InlineData(false, "images.idx")]
    [InlineData(true, "images.idx.gz")]
    [InlineData(true, "images.idx")] // gzip is detected from the bytes, not the name
    public void ImagesRoundTripExactly(bool gzip, string fileName)
    {
        var raw = TestFiles.IdxImages(3, 2, 4, Pixel);
        var path = _dir.File(fileName);
        File.WriteAllBytes(path, gzip ? TestFiles.Gzip(raw) : raw);

        var images = Idx.ReadImages(path);

        Assert.Equal((3, 2, 4), (images.Count, images.Rows, images.Columns));
        for (int i = 0; i < 3; i++)
            for (int r = 0; r < 2; r++)
                for (int c = 0; c < 4; c++)
                    Assert.Equal(Pixel(i, r, c) / 255f, images.Pixels[(i * 2 + r) * 4 + c]);
        Assert.Equal(0f, images.Pixels.Min());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LabelsRoundTripExactly(bool gzip)
    {
        byte[] labels = [7, 2, 1, 0, 9, 255];
        var raw = TestFiles.IdxLabels(labels);
        var path = _dir.File("labels");
        File.WriteAllBytes(path, gzip ? TestFiles.Gzip(raw) : raw);

        Assert.Equal(labels, Idx.ReadLabels(path));
    }

    [Fact]
    public void LabelsFileReadAsImagesNamesBothMagics()
    {
        var path = _dir.File("train-images-idx3-ubyte.gz");
        File.WriteAllBytes(path, TestFiles.Gzip(TestFiles.IdxLabels([1, 2])));

        var ex = Assert.Throws<DataFormatException>(() => Idx.ReadImages(path));

        Assert.Equal($"{path}: expected IDX image magic 0x00000803, found 0x00000801", ex.Message);
    }

    [Fact]
    public void ImagesWithWrongMagicInLabelsReaderAreRejected()
    {
        var path = _dir.File("labels");
        File.WriteAllBytes(path, TestFiles.IdxImages(1, 1, 1, Pixel));

        var ex = Assert.Throws<DataFormatException>(() => Idx.ReadLabels(path));

        Assert.Equal($"{path}: expected IDX label magic 0x00000801, found 0x00000803", ex.Message);
    }

    [Fact]
    public void TruncatedImagesReportHeaderAndActualSize()
    {
        var path = _dir.File("images.gz");
        var full = TestFiles.IdxImages(3, 2, 2, Pixel);
        File.WriteAllBytes(path, TestFiles.Gzip(full[..(16 + 5)]));

        var ex = Assert.Throws<DataFormatException>(() => Idx.ReadImages(path));

        Assert.Equal($"{path}: truncated: header says 3 images of 2x2 (12 bytes) but only 5 bytes follow", ex.Message);
    }

    [Fact]
    public void TruncatedHeaderIsReported()
    {
        var path = _dir.File("labels");
        File.WriteAllBytes(path, [0, 0, 8, 1, 0]);

        var ex = Assert.Throws<DataFormatException>(() => Idx.ReadLabels(path));

        Assert.Equal($"{path}: truncated: an IDX label header needs 8 bytes but the file has 5", ex.Message);
    }

    [Fact]
    public void TrailingBytesAreReported()
    {
        var path = _dir.File("labels");
        File.WriteAllBytes(path, [.. TestFiles.IdxLabels([1, 2]), 42]);

        var ex = Assert.Throws<DataFormatException>(() => Idx.ReadLabels(path));

        Assert.Equal($"{path}: header says 2 labels (2 bytes) but 3 bytes follow", ex.Message);
    }

    [Fact]
    public void CorruptGzipIsWrappedWithThePath()
    {
        var path = _dir.File("images.gz");
        var gz = TestFiles.Gzip(TestFiles.IdxImages(2, 28, 28, Pixel));
        for (int i = 12; i < gz.Length - 8; i++) gz[i] ^= 0x5a;
        File.WriteAllBytes(path, gz);

        var ex = Assert.Throws<DataFormatException>(() => Idx.ReadImages(path));

        Assert.StartsWith($"{path}: ", ex.Message);
        Assert.IsType<InvalidDataException>(ex.InnerException);
    }

    [Fact]
    public void MissingFileIsDataNotFound()
    {
        var path = _dir.File("nope.idx");

        var ex = Assert.Throws<DataNotFoundException>(() => Idx.ReadImages(path));

        Assert.Contains(path, ex.Message);
        Assert.StartsWith("missing file", ex.Message);
    }
}
