using System.Formats.Tar;
using System.Text;
using NasSharp.Data;
using Xunit;

namespace NasSharp.Tests.Data;

/// <summary>
/// Damaged data is refused, never loaded as other data: gzip files whose CRC-32 or length is wrong or that were cut short,
/// a tar cut at an entry boundary, a known dataset with other counts than the published ones; and the decode cache is
/// never written from such a read. Each case is a small damaged copy made in a temporary folder.
/// </summary>
[Trait("Category", "Reliability")]
public sealed class DataIntegrityTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Text that compresses, so a cut can fall anywhere in a deflate stream of several blocks.</summary>
    private static readonly byte[] Csv = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 400).Select(i => $"{i},{i * i % 97},{i % 3}\n")));

    private string Write(string name, byte[] bytes)
    {
        var path = _dir.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Theory]
    [InlineData(-8)] // the CRC-32 in the trailer
    [InlineData(-4)] // the length in the trailer
    [InlineData(40)] // a bit of the compressed data
    public void AGzipFileWithAWrongCheckIsRefused(int offset)
    {
        var gz = TestFiles.Gzip(Csv);
        gz[offset < 0 ? gz.Length + offset : offset] ^= 0x04;
        var path = Write("damaged.csv.gz", gz);
        var e = Assert.Throws<DataFormatException>(() => DataFiles.ReadAllMaybeGzip(path));
        Assert.Contains("gzip", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void AGzipFileCutAnywhereIsRefused()
    {
        var gz = TestFiles.Gzip(Csv);
        // .NET alone returns a prefix of the data for most of these cuts (see DataFiles.Gunzip). From 2 bytes on: a file is
        // gzip by its two magic bytes, and a single byte is read as it is.
        for (int length = 2; length < gz.Length; length++)
        {
            var path = Write("cut.csv.gz", gz[..length]);
            var e = Assert.Throws<DataFormatException>(() => DataFiles.ReadAllMaybeGzip(path));
            Assert.Contains("gzip", e.Message);
        }
        Assert.Equal(Csv, DataFiles.ReadAllMaybeGzip(Write("whole.csv.gz", gz)));
    }

    [Fact]
    public void AGzipFileOfSeveralMembersIsReadWholeAndRefusedCut()
    {
        byte[] first = Csv[..1000], second = Csv[1000..];
        var gz = TestFiles.Gzip(first).Concat(TestFiles.Gzip(second)).ToArray();
        Assert.Equal(Csv, DataFiles.ReadAllMaybeGzip(Write("two.csv.gz", gz)));
        var path = Write("two-cut.csv.gz", gz[..^3]);
        Assert.Throws<DataFormatException>(() => DataFiles.ReadAllMaybeGzip(path));
    }

    [Fact]
    public void ACutCopyOfARealGzippedTableIsRefusedNotReadShort()
    {
        var real = File.ReadAllBytes(Path.Combine(TestFiles.RealDataRoot, "sklearn", "digits.csv.gz"));
        Directory.CreateDirectory(_dir.File("sklearn"));
        Write(Path.Combine("sklearn", "digits.csv.gz"), real[..(real.Length * 9 / 10)]);
        var e = Assert.Throws<DataFormatException>(() => DatasetCatalog.Load("digits", _dir.Path));
        Assert.Contains("truncated or corrupt gzip file", e.Message);
    }

    /// <summary>An uncompressed image tar of <paramref name="entries"/>, and the offsets where each entry ends.</summary>
    private static readonly Dictionary<string, string> FixedTimes = new() { ["mtime"] = "1577836800", ["atime"] = "1577836800", ["ctime"] = "1577836800" };

    private static (byte[] Tar, List<long> Ends) Tar(IEnumerable<(string Name, byte[] Bytes)> entries)
    {
        var ms = new MemoryStream();
        var ends = new List<long>();
        using (var writer = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
            foreach (var (name, bytes) in entries)
            {
                // Fixed times (PAX entries otherwise stamp the current access and change times): the archive, and the bit a
                // test flips in its gzip, are the same in every run.
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name, FixedTimes)
                {
                    DataStream = new MemoryStream(bytes),
                    ModificationTime = DateTimeOffset.FromUnixTimeSeconds(1577836800),
                });
                ends.Add(ms.Length);
            }
        return (ms.ToArray(), ends);
    }

    private static IEnumerable<(string, byte[])> Images(int trainPerClass, int testPerClass, params string[] classes) =>
        from split in new[] { ("train", trainPerClass), ("test", testPerClass) }
        from c in classes
        from i in Enumerable.Range(0, split.Item2)
        select ($"root/{split.Item1}/{c}/{i:D4}.bmp", TestFiles.Bmp(32, 32, (x, y) => ((byte)(x + i), (byte)(y + c.Length), (byte)(x * y))));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ATarCutAtAnEntryBoundaryIsRefusedAndNothingIsCached(bool gzip)
    {
        var (tar, ends) = Tar(Images(2, 1, "cat", "dog"));
        var cut = tar[..(int)ends[^2]]; // the last entry and the archive's end are missing
        var path = Write(gzip ? "images.tar.gz" : "images.tar", gzip ? TestFiles.Gzip(cut) : cut);
        var cache = _dir.File("cache");

        var e = Assert.Throws<DataFormatException>(() => ImageFolderTarball.Load(path, "tiny", 3, 32, 32, cache));
        Assert.Contains("truncated tar archive", e.Message);
        Assert.False(Directory.Exists(cache) && Directory.EnumerateFileSystemEntries(cache).Any());

        var whole = Write(gzip ? "whole.tar.gz" : "whole.tar", gzip ? TestFiles.Gzip(tar) : tar);
        Assert.Equal(4, ImageFolderTarball.Load(whole, "tiny", 3, 32, 32, cache).Data.Train.Count);
    }

    [Theory]
    [InlineData(-8)] // the CRC-32 in the trailer
    [InlineData(-200)] // a bit of the compressed data, near the end
    public void AGzippedTarWithOneBitFlippedIsRefusedAndNothingIsCached(int offset)
    {
        var (tar, _) = Tar(Images(2, 1, "cat", "dog"));
        var gz = TestFiles.Gzip(tar);
        gz[gz.Length + offset] ^= 0x10;
        var cache = _dir.File("cache");

        var e = Assert.Throws<DataFormatException>(() => ImageFolderTarball.Load(Write("flipped.tar.gz", gz), "tiny", 3, 32, 32, cache));
        Assert.Contains("gzip", e.Message);
        Assert.False(Directory.Exists(cache) && Directory.EnumerateFileSystemEntries(cache).Any());
    }

    private static readonly CanonicalCounts Tiny = new("Tiny", Train: 4, Test: 2, TrainPerClass: 2, TestPerClass: 1);

    [Fact]
    public void AnImageTarWithOtherCountsThanThePublishedIsNeitherLoadedNorCached()
    {
        var cache = _dir.File("cache");
        var (tar, _) = Tar(Images(2, 1, "cat", "dog").Where(e => e.Item1 != "root/train/dog/0001.bmp"));
        var path = Write("images.tar", tar);

        var e = Assert.Throws<DataFormatException>(() => ImageFolderTarball.Load(path, "tiny", 3, 32, 32, cache, expected: Tiny));
        Assert.Contains("3 training samples, but the published Tiny has 4 (2 of each class)", e.Message);
        Assert.False(Directory.Exists(cache) && Directory.EnumerateFileSystemEntries(cache).Any());

        // A cache of such a decode (written without the check, as an earlier build did) is not served either.
        Assert.Equal(CacheOutcome.Created, ImageFolderTarball.Load(path, "tiny", 3, 32, 32, cache).Cache);
        e = Assert.Throws<DataFormatException>(() => ImageFolderTarball.Load(path, "tiny", 3, 32, 32, cache, expected: Tiny));
        Assert.Contains("(cached in", e.Message);

        // Right totals, unbalanced classes.
        var (skewed, _) = Tar(Images(2, 1, "cat", "dog").Select(x => x.Item1 == "root/train/dog/0001.bmp" ? ("root/train/cat/0009.bmp", x.Item2) : x));
        e = Assert.Throws<DataFormatException>(() => ImageFolderTarball.Load(Write("skewed.tar", skewed), "tiny", 3, 32, 32, cache, expected: Tiny));
        Assert.Contains("class 'cat' has 3 training samples", e.Message);

    }

    [Fact]
    public void AKnownDatasetWithOtherCountsIsRefusedByTheCatalog()
    {
        var folder = Directory.CreateDirectory(_dir.File("mnist")).FullName;
        static byte Pixel(int i, int r, int c) => (byte)(i + r + c);
        File.WriteAllBytes(Path.Combine(folder, "train-images-idx3-ubyte"), TestFiles.IdxImages(10, 28, 28, Pixel));
        File.WriteAllBytes(Path.Combine(folder, "train-labels-idx1-ubyte"), TestFiles.IdxLabels([.. Enumerable.Range(0, 10).Select(i => (byte)i)]));
        File.WriteAllBytes(Path.Combine(folder, "t10k-images-idx3-ubyte"), TestFiles.IdxImages(5, 28, 28, Pixel));
        File.WriteAllBytes(Path.Combine(folder, "t10k-labels-idx1-ubyte"), TestFiles.IdxLabels([.. Enumerable.Range(0, 5).Select(i => (byte)i)]));

        Assert.Equal(10, Mnist.Load(folder).Train.Count); // the format reader takes any size
        var e = Assert.Throws<DataFormatException>(() => DatasetCatalog.Load("mnist", _dir.Path));
        Assert.Contains("10 training samples, but the published MNIST has 60,000", e.Message);
        Assert.Contains(folder, e.Message);
    }
}
