using System.Formats.Tar;
using System.IO.Compression;
using NasSharp.Data;
using Xunit;

namespace NasSharp.Tests.Data;

public sealed class ImageFolderTarballTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Cache => _dir.File("cache");

    private static (byte R, byte G, byte B) Planted(int image, int x, int y) =>
        ((byte)(x * 7 + y + image), (byte)(y * 5 + image * 3), (byte)((x + y * 3 + image * 11) % 256));

    /// <summary>
    /// Entries deliberately out of order, with a README and a hidden file that are not samples.
    /// Image ids: train truck 0..1, train airplane 2, train cat 3; test cat 4, test airplane 5.
    /// </summary>
    private static readonly (string Path, int Image)[] Layout =
    [
        ("root/train/truck/0001.bmp", 1), ("root/train/truck/0000.bmp", 0), ("root/train/airplane/0000.bmp", 2),
        ("root/train/cat/0000.bmp", 3), ("root/test/cat/0000.bmp", 4), ("root/test/airplane/0000.bmp", 5),
    ];

    private string PlantTar(int imageOffset = 0, string name = "images.tar.gz")
    {
        var path = _dir.File(name);
        var entries = Layout.Select(e => (e.Path, TestFiles.Bmp(32, 32, (x, y) => Planted(e.Image + imageOffset, x, y))))
            .Append(("root/README.md", "not an image"u8.ToArray()))
            .Append(("root/train/cat/._0000.bmp", new byte[] { 0, 5, 22, 7 }));
        TestFiles.Tar(path, entries, directories: ["root/", "root/train/", "root/train/truck/"]);
        return path;
    }

    private static float Expected(int image, int channel, int x, int y)
    {
        var (r, g, b) = Planted(image, x, y);
        return (channel == 0 ? r : channel == 1 ? g : b) / 255f;
    }

    [Fact]
    public void DecodesPlantedImagesAsChwWithSortedClassFoldersAndPathOrder()
    {
        var load = ImageFolderTarball.Load(PlantTar(), "tiny", 3, 32, 32, Cache);

        var (train, test) = load.Data;
        Assert.Equal(CacheOutcome.Created, load.Cache);
        Assert.Equal(["airplane", "cat", "truck"], train.ClassNames);
        Assert.Equal([3, 32, 32], train.SampleShape);
        // Sorted by path: airplane/0000, cat/0000, truck/0000, truck/0001.
        Assert.Equal([0, 1, 2, 2], train.Labels);
        int[] trainImages = [2, 3, 0, 1];
        Assert.NotNull(test);
        Assert.Equal([0, 1], test.Labels);
        for (int s = 0; s < 4; s++)
            foreach (var (c, x, y) in new[] { (0, 0, 0), (1, 31, 0), (2, 5, 17), (0, 31, 31) })
                Assert.Equal(Expected(trainImages[s], c, x, y), train.Features[s * 3072 + c * 1024 + y * 32 + x]);
        Assert.Equal(Expected(4, 2, 9, 30), test.Features[1 * 3072 + 2 * 1024 + 30 * 32 + 9]);
    }

    [Fact]
    public void SecondLoadReadsTheCacheAndGivesIdenticalData()
    {
        var tar = PlantTar();
        var first = ImageFolderTarball.Load(tar, "tiny", 3, 32, 32, Cache);

        var second = ImageFolderTarball.Load(tar, "tiny", 3, 32, 32, Cache);

        Assert.Equal(CacheOutcome.Hit, second.Cache);
        Assert.Equal(first.CacheFile, second.CacheFile);
        AssertSameData(first.Data, second.Data);
        // Only the finished cache file remains: the temporary file was renamed into place.
        Assert.Equal([Path.GetFileName(first.CacheFile)], Directory.GetFiles(Cache).Select(Path.GetFileName));
    }

    [Fact]
    public void CacheHitDoesNotDecodeTheTarball()
    {
        var tar = PlantTar();
        var first = ImageFolderTarball.Load(tar, "tiny", 3, 32, 32, Cache);
        // Same length and modification time but unreadable content: only a cache read can succeed.
        var stamp = File.GetLastWriteTimeUtc(tar);
        File.WriteAllBytes(tar, new byte[new FileInfo(tar).Length]);
        File.SetLastWriteTimeUtc(tar, stamp);

        var second = ImageFolderTarball.Load(tar, "tiny", 3, 32, 32, Cache);

        Assert.Equal(CacheOutcome.Hit, second.Cache);
        AssertSameData(first.Data, second.Data);
    }

    [Trait("Category", "Reliability")]
    [Theory]
    [InlineData("flip")]
    [InlineData("truncate")]
    [InlineData("empty")]
    public void CorruptCacheIsRebuilt(string damage)
    {
        var tar = PlantTar();
        var first = ImageFolderTarball.Load(tar, "tiny", 3, 32, 32, Cache);
        var bytes = File.ReadAllBytes(first.CacheFile);
        File.WriteAllBytes(first.CacheFile, damage switch
        {
            "flip" => bytes.Select((b, i) => i == bytes.Length / 2 ? (byte)(b ^ 1) : b).ToArray(),
            "truncate" => bytes[..(bytes.Length - 100)],
            _ => [],
        });

        var second = ImageFolderTarball.Load(tar, "tiny", 3, 32, 32, Cache);

        Assert.Equal(CacheOutcome.Rebuilt, second.Cache);
        AssertSameData(first.Data, second.Data);
        Assert.Equal(CacheOutcome.Hit, ImageFolderTarball.Load(tar, "tiny", 3, 32, 32, Cache).Cache);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void ChangedTarballGetsANewCache()
    {
        var tar = PlantTar();
        var first = ImageFolderTarball.Load(tar, "tiny", 3, 32, 32, Cache);
        PlantTar(imageOffset: 40);
        File.SetLastWriteTimeUtc(tar, File.GetLastWriteTimeUtc(tar).AddMinutes(1));

        var second = ImageFolderTarball.Load(tar, "tiny", 3, 32, 32, Cache);

        Assert.Equal(CacheOutcome.Created, second.Cache);
        Assert.NotEqual(first.CacheFile, second.CacheFile);
        Assert.Equal(Expected(42, 0, 0, 0), second.Data.Train.Features[0]);
    }

    [Fact]
    public void ProgressCountsEveryImage()
    {
        var progress = new RecordingProgress();

        ImageFolderTarball.Load(PlantTar(), "tiny", 3, 32, 32, Cache, progress);

        Assert.Equal((0, 6), progress.Reports.First());
        Assert.Contains((6, 6), progress.Reports);
    }

    [Fact]
    public void WrongImageSizeNamesTheEntry()
    {
        var tar = _dir.File("bad.tar.gz");
        TestFiles.Tar(tar, [("r/train/cat/0.bmp", TestFiles.Bmp(32, 32, (_, _) => (1, 2, 3))), ("r/test/cat/7.bmp", TestFiles.Bmp(16, 16, (_, _) => (1, 2, 3)))]);

        var ex = Assert.Throws<DataFormatException>(() => ImageFolderTarball.Load(tar, "tiny", 3, 32, 32, Cache));

        Assert.Equal($"{tar}: entry r/test/cat/7.bmp: expected a 32x32 image, found 16x16", ex.Message);
    }

    [Fact]
    public void UndecodableEntryIsNamed()
    {
        var tar = _dir.File("bad.tar.gz");
        TestFiles.Tar(tar, [("r/train/cat/0.jpg", "not a jpeg"u8.ToArray()), ("r/test/cat/0.jpg", TestFiles.Bmp(32, 32, (_, _) => (1, 2, 3)))]);

        var ex = Assert.Throws<DataFormatException>(() => ImageFolderTarball.Load(tar, "tiny", 3, 32, 32, Cache));

        Assert.StartsWith($"{tar}: entry r/train/cat/0.jpg: cannot decode image (10 bytes)", ex.Message);
    }

    [Fact]
    public void TarWithoutTestFolderIsRejected()
    {
        var tar = _dir.File("train-only.tar");
        TestFiles.Tar(tar, [("r/train/cat/0.bmp", TestFiles.Bmp(32, 32, (_, _) => (1, 2, 3)))], gzip: false);

        var ex = Assert.Throws<DataFormatException>(() => ImageFolderTarball.Load(tar, "tiny", 3, 32, 32, Cache));

        Assert.Equal($"{tar}: expected image entries <root>/train/<class>/<image> and <root>/test/<class>/<image>, found 1 train and 0 test among 1 entries", ex.Message);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("truncated")]
    public void DamagedArchiveIsAFormatErrorNamingTheFile(string damage)
    {
        var tar = PlantTar();
        var bytes = File.ReadAllBytes(tar);
        File.WriteAllBytes(tar, damage == "garbage" ? Enumerable.Range(0, 5000).Select(i => (byte)(i * 7)).ToArray() : bytes[..(bytes.Length / 2)]);

        var ex = Assert.ThrowsAny<DataFormatException>(() => ImageFolderTarball.Load(tar, "tiny", 3, 32, 32, Cache));

        Assert.Contains(tar, ex.Message);
    }

    [Fact]
    public void MissingTarballIsDataNotFound()
    {
        var ex = Assert.Throws<DataNotFoundException>(() => Cifar10.LoadJpegTarball(_dir.File("cifar10-images-jpeg.tar.gz"), Cache));

        Assert.StartsWith($"missing file {_dir.File("cifar10-images-jpeg.tar.gz")}", ex.Message);
    }

    /// <summary>
    /// Real JPEGs: a few entries are copied from the shared CIFAR-10 tarball into a tiny tar. The expected
    /// values come from an independent decoder, libjpeg-turbo 2.1 (<c>djpeg -pnm</c>): first pixel and
    /// per-channel means over the 32x32 image, in 0..255 levels.
    /// </summary>
    [Fact]
    public void RealCifarJpegsDecodeLikeLibjpeg()
    {
        var source = Path.Combine(TestFiles.RealDataRoot, "cifar10", Cifar10.JpegTarballName);
        var wanted = new[] { "cifar10-images/test/airplane/0000.jpg", "cifar10-images/test/cat/0000.jpg" };
        var jpegs = ReadEntries(source, wanted);
        var tar = _dir.File(Cifar10.JpegTarballName);
        TestFiles.Tar(tar, [
            ("cifar10-images/train/cat/0000.jpg", jpegs[wanted[1]]), ("cifar10-images/train/airplane/0000.jpg", jpegs[wanted[0]]),
            ("cifar10-images/test/airplane/0000.jpg", jpegs[wanted[0]]), ("cifar10-images/test/cat/0000.jpg", jpegs[wanted[1]])]);

        var (train, test) = Cifar10.Load(_dir.Path, Cache);

        Assert.Equal(["airplane", "cat"], train.ClassNames);
        Assert.NotNull(test);
        Assert.Equal([0, 1], test.Labels);
        AssertLikeLibjpeg(test.Features.AsSpan(0, 3072), first: (141, 159, 179), means: (152.264, 150.482, 161.747));
        AssertLikeLibjpeg(test.Features.AsSpan(3072, 3072), first: (167, 107, 47), means: (110.075, 110.396, 104.628));
    }

    /// <summary>
    /// Decoders may legitimately differ by a level or two per pixel (IDCT rounding, chroma upsampling), so
    /// single pixels get a tolerance of 3 levels and means (which average those differences away) 0.5.
    /// </summary>
    private static void AssertLikeLibjpeg(ReadOnlySpan<float> chw, (int R, int G, int B) first, (double R, double G, double B) means)
    {
        int[] firstPixel = [first.R, first.G, first.B];
        double[] meanLevels = [means.R, means.G, means.B];
        for (int c = 0; c < 3; c++)
        {
            var plane = chw.Slice(c * 1024, 1024);
            Assert.InRange(plane[0] * 255.0, firstPixel[c] - 3, firstPixel[c] + 3);
            double mean = 0;
            foreach (var v in plane) mean += v * 255.0;
            Assert.InRange(mean / 1024, meanLevels[c] - 0.5, meanLevels[c] + 0.5);
        }
    }

    private static Dictionary<string, byte[]> ReadEntries(string tarGz, IReadOnlyCollection<string> names)
    {
        var found = new Dictionary<string, byte[]>();
        using var reader = new TarReader(new GZipStream(File.OpenRead(tarGz), CompressionMode.Decompress));
        for (TarEntry? e; found.Count < names.Count && (e = reader.GetNextEntry()) is not null;)
        {
            if (!names.Contains(e.Name)) continue;
            var bytes = new byte[e.Length];
            e.DataStream!.ReadExactly(bytes);
            found[e.Name] = bytes;
        }
        Assert.Equal(names.Count, found.Count);
        return found;
    }

    private static void AssertSameData(TrainTest a, TrainTest b)
    {
        Assert.Equal(a.Train.Features, b.Train.Features);
        Assert.Equal(a.Train.Labels, b.Train.Labels);
        Assert.Equal(a.Train.ClassNames, b.Train.ClassNames);
        Assert.Equal(a.Test!.Features, b.Test!.Features);
        Assert.Equal(a.Test.Labels, b.Test.Labels);
    }

    private sealed class RecordingProgress : IProgress<(int done, int total)>
    {
        private readonly Lock _gate = new();
        private readonly List<(int, int)> _reports = [];

        public IReadOnlyList<(int, int)> Reports
        {
            get { lock (_gate) return _reports.ToList(); }
        }

        public void Report((int done, int total) value)
        {
            lock (_gate) _reports.Add(value);
        }
    }
}
