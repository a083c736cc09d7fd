using System.Buffers.Binary;

namespace NasSharp.Data;

/// <summary>Images read from an IDX file, pixels scaled from uint8 to [0, 1], sample-major, row-major within a sample.</summary>
public sealed record IdxImages(int Count, int Rows, int Columns, float[] Pixels);

/// <summary>
/// Reader for LeCun's IDX format (MNIST, Fashion-MNIST): a big-endian header (magic, then one int32 per
/// dimension) followed by uint8 data. Files may be gzipped; that is detected from the content, not the name.
/// </summary>
public static class Idx
{
    /// <summary>Magic of an IDX file of uint8 with three dimensions (count, rows, columns).</summary>
    public const int ImagesMagic = 0x00000803;
    /// <summary>Magic of an IDX file of uint8 with one dimension (count).</summary>
    public const int LabelsMagic = 0x00000801;

    public static IdxImages ReadImages(string path)
    {
        var bytes = DataFiles.ReadAllMaybeGzip(path);
        const int header = 16;
        // The magic is checked first: a file of the wrong kind is a clearer diagnosis than "truncated".
        if (bytes.Length >= 4) CheckMagic(path, bytes, ImagesMagic, "image");
        if (bytes.Length < header)
            throw new DataFormatException($"{path}: truncated: an IDX image header needs {header} bytes but the file has {bytes.Length}");
        int count = ReadDimension(path, bytes, 4, "image count");
        int rows = ReadDimension(path, bytes, 8, "row count");
        int cols = ReadDimension(path, bytes, 12, "column count");
        long expected = (long)count * rows * cols;
        long found = bytes.Length - header;
        if (found != expected)
        {
            var problem = found < expected ? "truncated: " : "";
            var qualifier = found < expected ? "only " : "";
            throw new DataFormatException(
                $"{path}: {problem}header says {count} images of {rows}x{cols} ({expected} bytes) but {qualifier}{found} bytes follow");
        }
        var pixels = new float[expected];
        ToUnitInterval(bytes.AsSpan(header), pixels);
        return new IdxImages(count, rows, cols, pixels);
    }

    public static byte[] ReadLabels(string path)
    {
        var bytes = DataFiles.ReadAllMaybeGzip(path);
        const int header = 8;
        // The magic is checked first: a file of the wrong kind is a clearer diagnosis than "truncated".
        if (bytes.Length >= 4) CheckMagic(path, bytes, LabelsMagic, "label");
        if (bytes.Length < header)
            throw new DataFormatException($"{path}: truncated: an IDX label header needs {header} bytes but the file has {bytes.Length}");
        int count = ReadDimension(path, bytes, 4, "label count");
        long found = bytes.Length - header;
        if (found != count)
        {
            var problem = found < count ? "truncated: " : "";
            var qualifier = found < count ? "only " : "";
            throw new DataFormatException($"{path}: {problem}header says {count} labels ({count} bytes) but {qualifier}{found} bytes follow");
        }
        return bytes[header..];
    }

    // b / 255f exactly (torchvision's ToTensor divides); multiplying by 1/255f would be off by an ulp for some b.
    private static readonly float[] UnitLevels = Enumerable.Range(0, 256).Select(b => b / 255f).ToArray();

    /// <summary>Bytes 0..255 to floats 0..1, the convention of torchvision's ToTensor.</summary>
    internal static void ToUnitInterval(ReadOnlySpan<byte> source, Span<float> destination)
    {
        var levels = UnitLevels;
        for (int i = 0; i < source.Length; i++) destination[i] = levels[source[i]];
    }

    private static void CheckMagic(string path, byte[] bytes, int expected, string kind)
    {
        int magic = BinaryPrimitives.ReadInt32BigEndian(bytes);
        if (magic != expected)
            throw new DataFormatException($"{path}: expected IDX {kind} magic 0x{expected:X8}, found 0x{magic:X8}");
    }

    private static int ReadDimension(string path, byte[] bytes, int offset, string what)
    {
        int value = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(offset));
        if (value < 0) throw new DataFormatException($"{path}: header {what} is {value}; expected a non-negative size");
        return value;
    }
}
