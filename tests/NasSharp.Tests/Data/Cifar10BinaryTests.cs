using NasSharp.Data;
using Xunit;

namespace NasSharp.Tests.Data;

public sealed class Cifar10BinaryTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private const int Record = 3073;

    private static byte PixelOf(int globalIndex, int offset) => (byte)((globalIndex * 37 + offset * 11) % 256);

    /// <summary>A batch of <paramref name="count"/> records numbered from <paramref name="first"/>; label = number mod 10.</summary>
    private static byte[] Batch(int first, int count)
    {
        var bytes = new byte[count * Record];
        for (int r = 0; r < count; r++)
        {
            bytes[r * Record] = (byte)((first + r) % 10);
            for (int p = 0; p < 3072; p++) bytes[r * Record + 1 + p] = PixelOf(first + r, p);
        }
        return bytes;
    }

    private static IEnumerable<(string Name, byte[] Bytes)> BatchFiles(string? meta)
    {
        for (int b = 1; b <= 5; b++) yield return ($"data_batch_{b}.bin", Batch((b - 1) * 2, 2));
        yield return ("test_batch.bin", Batch(100, 3));
        if (meta is not null) yield return ("batches.meta.txt", System.Text.Encoding.UTF8.GetBytes(meta));
    }

    private static readonly string Meta = string.Join("\n", Enumerable.Range(0, 10).Select(i => $"class{i}")) + "\n\n";

    private static void AssertPlanted(TrainTest data, IReadOnlyList<string> classNames)
    {
        var (train, test) = data;
        Assert.NotNull(test);
        Assert.Equal(10, train.Count);
        Assert.Equal(3, test.Count);
        Assert.Equal([3, 32, 32], train.SampleShape);
        Assert.Equal(Enumerable.Range(0, 10), train.Labels);
        Assert.Equal([0, 1, 2], test.Labels);
        Assert.Equal(classNames, train.ClassNames);
        // The record's pixel bytes are already planar CHW: offset p of record i lands at feature p of sample i.
        foreach (var (i, p) in new[] { (0, 0), (7, 1023), (7, 1024), (9, 3071) })
            Assert.Equal(PixelOf(i, p) / 255f, train.Features[i * 3072 + p]);
        Assert.Equal(PixelOf(102, 2048) / 255f, test.Features[2 * 3072 + 2048]);
    }

    [Fact]
    public void BatchesFolderUnderCifarDirectoryIsPreferred()
    {
        var batches = Directory.CreateDirectory(_dir.File(Cifar10.BinaryDirectoryName)).FullName;
        foreach (var (name, bytes) in BatchFiles(Meta)) File.WriteAllBytes(Path.Combine(batches, name), bytes);

        AssertPlanted(Cifar10.Load(_dir.Path, cacheDirectory: _dir.File("cache")), Enumerable.Range(0, 10).Select(i => $"class{i}").ToArray());
        Assert.False(Directory.Exists(_dir.File("cache"))); // binary batches need no cache
    }

    [Fact]
    public void WithoutMetaTheStandardClassNamesAreUsed()
    {
        foreach (var (name, bytes) in BatchFiles(meta: null)) File.WriteAllBytes(_dir.File(name), bytes);

        AssertPlanted(Cifar10.LoadBinaryBatches(_dir.Path), Cifar10.ClassNames);
    }

    [Fact]
    public void GzippedTarOfBatchesGivesTheSameData()
    {
        TestFiles.Tar(_dir.File(Cifar10.BinaryTarballName),
            BatchFiles(Meta).Select(f => ($"cifar-10-batches-bin/{f.Name}", f.Bytes)), directories: ["cifar-10-batches-bin/"]);

        AssertPlanted(Cifar10.Load(_dir.Path), Enumerable.Range(0, 10).Select(i => $"class{i}").ToArray());
    }

    [Fact]
    public void PartialRecordNamesTheBatchFile()
    {
        foreach (var (name, bytes) in BatchFiles(meta: null))
            File.WriteAllBytes(_dir.File(name), name == "data_batch_3.bin" ? bytes[..^5] : bytes);

        var ex = Assert.Throws<DataFormatException>(() => Cifar10.LoadBinaryBatches(_dir.Path));

        Assert.Equal($"{_dir.File("data_batch_3.bin")}: expected a whole number of 3073-byte records (1 label + 3072 pixels), found 6141 bytes (1 records and 3068 bytes left over)", ex.Message);
    }

    [Fact]
    public void LabelBeyondMetaClassesIsRejected()
    {
        foreach (var (name, bytes) in BatchFiles("a\nb\nc\n")) File.WriteAllBytes(_dir.File(name), bytes);

        var ex = Assert.Throws<DataFormatException>(() => Cifar10.LoadBinaryBatches(_dir.Path));

        Assert.Equal($"{_dir.File("data_batch_2.bin")}: record 1: label 3 is outside 0..2", ex.Message);
    }

    [Fact]
    public void MissingBatchInTarIsNamed()
    {
        var tar = _dir.File("batches.tar.gz");
        TestFiles.Tar(tar, BatchFiles(Meta).Where(f => f.Name != "test_batch.bin"));

        var ex = Assert.Throws<DataFormatException>(() => Cifar10.LoadBinaryTarball(tar));

        Assert.StartsWith($"{tar}: expected an entry test_batch.bin", ex.Message);
    }

    [Fact]
    public void EmptyCifarFolderListsAcceptedLayouts()
    {
        var ex = Assert.Throws<DataNotFoundException>(() => Cifar10.Load(_dir.Path));

        Assert.Contains(_dir.Path, ex.Message);
        Assert.Contains(Cifar10.BinaryDirectoryName, ex.Message);
        Assert.Contains(Cifar10.BinaryTarballName, ex.Message);
        Assert.Contains(Cifar10.JpegTarballName, ex.Message);
    }
}
