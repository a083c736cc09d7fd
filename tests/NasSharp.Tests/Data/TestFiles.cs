using System.Buffers.Binary;
using System.Formats.Tar;
using System.IO.Compression;
using NasSharp.Data;

namespace NasSharp.Tests.Data;

/// <summary>A fresh directory under the system temp folder, deleted on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "nassharp-tests-" + Guid.NewGuid().ToString("N"));

    public string File(string relative) => System.IO.Path.Combine(Path, relative);

    public void Dispose()
    {
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }
}

/// <summary>Writers for the tiny data files the tests plant; independent of the loaders they check.</summary>
public static class TestFiles
{
    public static byte[] IdxImages(int count, int rows, int cols, Func<int, int, int, byte> pixel, int magic = Idx.ImagesMagic)
    {
        var bytes = new byte[16 + count * rows * cols];
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(0), magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), cols);
        for (int i = 0; i < count; i++)
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                    bytes[16 + (i * rows + r) * cols + c] = pixel(i, r, c);
        return bytes;
    }

    public static byte[] IdxLabels(IReadOnlyList<byte> labels, int magic = Idx.LabelsMagic)
    {
        var bytes = new byte[8 + labels.Count];
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(0), magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), labels.Count);
        for (int i = 0; i < labels.Count; i++) bytes[8 + i] = labels[i];
        return bytes;
    }

    public static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    /// <summary>
    /// A 24-bit uncompressed BMP. The tests use BMP for synthetic images because the loader decodes by
    /// content (stb recognises BMP as well as JPEG) and BMP is lossless, so pixel values can be checked
    /// exactly; no JPEG encoder is available to the tests.
    /// </summary>
    public static byte[] Bmp(int width, int height, Func<int, int, (byte R, byte G, byte B)> pixel)
    {
        int rowBytes = (width * 3 + 3) & ~3;
        int imageBytes = rowBytes * height;
        var bmp = new byte[54 + imageBytes];
        bmp[0] = (byte)'B';
        bmp[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(2), bmp.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), height);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(28), 24);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(34), imageBytes);
        for (int y = 0; y < height; y++)
        {
            int row = 54 + (height - 1 - y) * rowBytes; // rows are stored bottom-up
            for (int x = 0; x < width; x++)
            {
                var (r, g, b) = pixel(x, y);
                bmp[row + 3 * x] = b;
                bmp[row + 3 * x + 1] = g;
                bmp[row + 3 * x + 2] = r;
            }
        }
        return bmp;
    }

    /// <summary>Writes a tar (gzipped when <paramref name="gzip"/>) with the given regular-file entries, in the given order.</summary>
    public static void Tar(string path, IEnumerable<(string Name, byte[] Bytes)> entries, bool gzip = true, IEnumerable<string>? directories = null)
    {
        using var fs = System.IO.File.Create(path);
        using Stream outer = gzip ? new GZipStream(fs, CompressionLevel.Fastest) : fs;
        using var writer = new TarWriter(outer, TarEntryFormat.Pax);
        foreach (var d in directories ?? [])
            writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, d));
        foreach (var (name, bytes) in entries)
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(bytes) });
    }

    /// <summary>The data root every CI and development checkout has (../shared/data); resolving it is itself checked.</summary>
    public static string RealDataRoot => DataDirectory.Resolve(null).Path;
}
