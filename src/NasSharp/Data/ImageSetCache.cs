using System.Security.Cryptography;
using System.Text;

namespace NasSharp.Data;

/// <summary>uint8 images (sample-major, CHW within a sample) and their labels.</summary>
internal sealed record ByteImageSet(byte[] Pixels, byte[] Labels);

/// <summary>A decoded image dataset in the compact form stored by <see cref="ImageSetCache"/>.</summary>
internal sealed record ByteImageData(int Channels, int Height, int Width, string[] ClassNames, ByteImageSet Train, ByteImageSet Test)
{
    public int SampleSize => Channels * Height * Width;

    public TrainTest ToTrainTest(string name) => new(ToDataset(name + "/train", Train), ToDataset(name + "/test", Test));

    private LabeledDataset ToDataset(string name, ByteImageSet set) =>
        new(name, set.Pixels, Array.ConvertAll(set.Labels, b => (int)b), [Channels, Height, Width], ClassNames, PixelLevels.UnitInterval(Channels));
}

/// <summary>
/// Binary cache of a decoded image dataset: header (magic, version, key, shape, class names, counts),
/// train pixels and labels, test pixels and labels, then a SHA-256 of everything before it. The key
/// identifies the source file, so a changed source never reads a stale cache; the checksum makes any
/// corruption a cache miss rather than wrong data. Writes go to a temporary file renamed into place, so a
/// reader never sees a half-written cache.
/// </summary>
internal static class ImageSetCache
{
    private static ReadOnlySpan<byte> Magic => "NSIMGC"u8;
    private const int Version = 1;
    private const int HashSize = 32;

    /// <summary>A stable key for a source file's identity: full path, length and modification time.</summary>
    public static string SourceKey(string sourcePath)
    {
        var info = new FileInfo(sourcePath);
        var identity = $"{info.FullName}\n{info.Length}\n{info.LastWriteTimeUtc.Ticks}\nv{Version}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)))[..16];
    }

    /// <summary>The cached data, or null when the file is absent, unreadable, of another version or key, or fails its checksum.</summary>
    public static ByteImageData? TryRead(string path, string key)
    {
        try
        {
            return Read(path, key);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    private static ByteImageData? Read(string path, string key)
    {
        if (!File.Exists(path)) return null;
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        int channels, height, width, trainCount, testCount;
        string[] classNames;
        using (var reader = new BinaryReader(fs, Encoding.UTF8, leaveOpen: true))
        {
            if (fs.Length < Magic.Length + 4 || !reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic)) return null;
            if (reader.ReadInt32() != Version || reader.ReadString() != key) return null;
            channels = reader.ReadInt32();
            height = reader.ReadInt32();
            width = reader.ReadInt32();
            int classCount = reader.ReadInt32();
            if (channels <= 0 || height <= 0 || width <= 0 || classCount <= 0 || classCount > 256) return null;
            classNames = new string[classCount];
            for (int i = 0; i < classCount; i++) classNames[i] = reader.ReadString();
            trainCount = reader.ReadInt32();
            testCount = reader.ReadInt32();
        }
        long headerLength = fs.Position;
        long sampleSize = (long)channels * height * width;
        if (trainCount < 0 || testCount < 0) return null;
        long expectedLength = headerLength + (trainCount + (long)testCount) * (sampleSize + 1) + HashSize;
        if (fs.Length != expectedLength || trainCount * sampleSize > Array.MaxLength || testCount * sampleSize > Array.MaxLength) return null;

        fs.Position = 0;
        ReadHashed(fs, hash, new byte[headerLength]);
        var train = new ByteImageSet(ReadHashed(fs, hash, new byte[trainCount * sampleSize]), ReadHashed(fs, hash, new byte[trainCount]));
        var test = new ByteImageSet(ReadHashed(fs, hash, new byte[testCount * sampleSize]), ReadHashed(fs, hash, new byte[testCount]));
        var stored = new byte[HashSize];
        fs.ReadExactly(stored);
        if (!hash.GetHashAndReset().AsSpan().SequenceEqual(stored)) return null;
        if (train.Labels.Any(l => l >= classNames.Length) || test.Labels.Any(l => l >= classNames.Length)) return null;
        return new ByteImageData(channels, height, width, classNames, train, test);
    }

    private static byte[] ReadHashed(Stream stream, IncrementalHash hash, byte[] buffer)
    {
        stream.ReadExactly(buffer);
        hash.AppendData(buffer);
        return buffer;
    }

    /// <summary>Writes the cache atomically: to a unique temporary file in the same folder, then renamed over <paramref name="path"/>.</summary>
    public static void Write(string path, string key, ByteImageData data)
    {
        if (data.ClassNames.Length > 256)
            throw new ArgumentException($"The image cache stores labels as bytes; {data.ClassNames.Length} classes do not fit.", nameof(data));
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                WriteHashed(fs, hash, Header(key, data));
                WriteHashed(fs, hash, data.Train.Pixels);
                WriteHashed(fs, hash, data.Train.Labels);
                WriteHashed(fs, hash, data.Test.Pixels);
                WriteHashed(fs, hash, data.Test.Labels);
                fs.Write(hash.GetHashAndReset());
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    private static byte[] Header(string key, ByteImageData data)
    {
        using var ms = new MemoryStream();
        using (var writer = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(Version);
            writer.Write(key);
            writer.Write(data.Channels);
            writer.Write(data.Height);
            writer.Write(data.Width);
            writer.Write(data.ClassNames.Length);
            foreach (var c in data.ClassNames) writer.Write(c);
            writer.Write(data.Train.Labels.Length);
            writer.Write(data.Test.Labels.Length);
        }
        return ms.ToArray();
    }

    private static void WriteHashed(Stream stream, IncrementalHash hash, byte[] bytes)
    {
        stream.Write(bytes);
        hash.AppendData(bytes);
    }
}
