using System.IO.Compression;

namespace NasSharp.Data;

/// <summary>File helpers shared by the loaders: gzip detection by content and uniform error wrapping.</summary>
internal static class DataFiles
{
    /// <summary>The path of <paramref name="fileName"/> or <paramref name="fileName"/>.gz in <paramref name="directory"/> (plain name first), or null.</summary>
    public static string? FindWithOptionalGz(string directory, string fileName)
    {
        var plain = Path.Combine(directory, fileName);
        if (File.Exists(plain)) return plain;
        var gz = plain + ".gz";
        return File.Exists(gz) ? gz : null;
    }

    public static bool HasGzipMagic(ReadOnlySpan<byte> head) => head.Length >= 2 && head[0] == 0x1f && head[1] == 0x8b;

    /// <summary>The file's bytes, gunzipped when it starts with the gzip magic (whatever its name says).</summary>
    public static byte[] ReadAllMaybeGzip(string path) => Guard(path, () =>
    {
        var raw = File.ReadAllBytes(path);
        if (!HasGzipMagic(raw)) return raw;
        using var gz = new GZipStream(new MemoryStream(raw, writable: false), CompressionMode.Decompress);
        using var ms = new MemoryStream((int)Math.Min(raw.Length * 4L, int.MaxValue / 2));
        gz.CopyTo(ms);
        return ms.ToArray();
    });

    /// <summary>A read stream over the file, decompressing when it starts with the gzip magic.</summary>
    public static Stream OpenMaybeGzip(string path) => Guard(path, () =>
    {
        var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            Span<byte> head = stackalloc byte[2];
            int n = fs.ReadAtLeast(head, 2, throwOnEndOfStream: false);
            fs.Position = 0;
            return HasGzipMagic(head[..n]) ? new GZipStream(fs, CompressionMode.Decompress) : (Stream)fs;
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    });

    /// <summary>Runs <paramref name="read"/>, turning I/O, gzip and tar failures into <see cref="DataFormatException"/> naming <paramref name="path"/>.</summary>
    public static T Guard<T>(string path, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception ex) when (Wrap(path, ex) is { } wrapped)
        {
            throw wrapped;
        }
    }

    /// <summary>The <see cref="DataFormatException"/> to raise for <paramref name="ex"/>, or null when it should propagate unchanged.</summary>
    public static DataFormatException? Wrap(string path, Exception ex) => ex switch
    {
        DataFormatException => null,
        FileNotFoundException or DirectoryNotFoundException => new DataNotFoundException($"missing file {path}: {ex.Message}", ex),
        EndOfStreamException => new DataFormatException($"{path}: truncated: {ex.Message}", ex),
        InvalidDataException => new DataFormatException($"{path}: corrupt compressed or archive data: {ex.Message}", ex),
        IOException or UnauthorizedAccessException or FormatException or NotSupportedException
            => new DataFormatException($"{path}: cannot read: {ex.Message}", ex),
        _ => null,
    };
}
