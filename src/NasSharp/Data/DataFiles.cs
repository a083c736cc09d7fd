using System.Buffers.Binary;
using System.Formats.Tar;
using System.IO.Compression;
using System.IO.Hashing;

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

    /// <summary>
    /// The file's bytes, gunzipped when it starts with the gzip magic (whatever its name says), the gzip data checked whole:
    /// a damaged or truncated file is a <see cref="DataFormatException"/>, never fewer or other bytes.
    /// </summary>
    public static byte[] ReadAllMaybeGzip(string path) => Guard(path, () =>
    {
        var raw = File.ReadAllBytes(path);
        return HasGzipMagic(raw) ? Gunzip(path, raw) : raw;
    });

    /// <summary>A read stream over the file's content, decompressed and checked as by <see cref="ReadAllMaybeGzip"/>.</summary>
    public static Stream OpenMaybeGzip(string path) => new MemoryStream(ReadAllMaybeGzip(path), writable: false);

    /// <summary>
    /// The entries of a tar archive, gzipped or not, checked whole first: the gzip data as by <see cref="ReadAllMaybeGzip"/>,
    /// and the archive's end, two zero blocks of 512 bytes (POSIX ustar): a tar cut at an entry boundary reads as a shorter
    /// archive without an error, and would pass for a smaller dataset.
    /// </summary>
    public static TarReader OpenTar(string path)
    {
        var bytes = ReadAllMaybeGzip(path);
        const int endBlocks = 2 * 512;
        if (bytes.Length < endBlocks || bytes.AsSpan(bytes.Length - endBlocks).ContainsAnyExcept((byte)0))
            throw new DataFormatException($"{path}: truncated tar archive: it does not end with the two zero blocks that close a tar " +
                "(it was cut short, at an entry boundary or elsewhere); re-download or re-create it");
        return new TarReader(new MemoryStream(bytes, writable: false));
    }

    /// <summary>
    /// Decompresses a gzip file and checks it is whole. .NET's GZipStream checks each member's CRC-32 and length when it
    /// reaches the member's end, but returns what it has, without an error, when the input ends before that (tried on
    /// .NET 10: a file cut anywhere past its header decompresses to a prefix of its data). So the last member's trailer
    /// (RFC 1952 §2.3.1: CRC-32, then the length mod 2³², little-endian, in the file's last 8 bytes) is checked against
    /// the data: over all of it for a file of one member, over its last ISIZE bytes for one of several (whose earlier
    /// members .NET checked on the way).
    /// </summary>
    private static byte[] Gunzip(string path, byte[] raw)
    {
        const int headerAndTrailer = 18;
        if (raw.Length < headerAndTrailer)
            throw new DataFormatException($"{path}: truncated gzip file: {raw.Length} bytes, fewer than a gzip header and trailer ({headerAndTrailer})");
        byte[] data;
        try
        {
            using var gz = new GZipStream(new MemoryStream(raw, writable: false), CompressionMode.Decompress);
            using var ms = new MemoryStream((int)Math.Min(raw.Length * 4L, int.MaxValue / 2));
            gz.CopyTo(ms);
            data = ms.ToArray();
        }
        catch (InvalidDataException e)
        {
            // .NET words a CRC-32 or length mismatch as "compressed using an unsupported compression method".
            throw new DataFormatException($"{path}: corrupt gzip data: its CRC-32 or length check failed or its compressed data is damaged ({e.Message}); re-download the file", e);
        }
        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(raw.Length - 8));
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(raw.Length - 4));
        bool oneMember = length == (uint)data.Length && Crc32.HashToUInt32(data) == crc;
        bool lastOfSeveral = length > 0 && length < data.Length && Crc32.HashToUInt32(data.AsSpan(data.Length - (int)length)) == crc;
        if (!oneMember && !lastOfSeveral)
            throw new DataFormatException($"{path}: truncated or corrupt gzip file: it decompresses to {data.Length:N0} bytes that do not match its " +
                $"trailer (CRC-32 0x{crc:x8}, length {length:N0}); re-download the file");
        return data;
    }

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
