using System.Formats.Tar;
using System.Text;

namespace NasSharp.Data;

/// <summary>
/// The canonical CIFAR-10 binary version: each record is one label byte then 3072 pixel bytes
/// (1024 red, 1024 green, 1024 blue, each plane row-major), i.e. already CHW.
/// </summary>
internal static class Cifar10Binary
{
    public const string TestBatch = "test_batch.bin";
    public const string MetaFile = "batches.meta.txt";
    private const int TrainBatches = 5;
    private const int ImageBytes = Cifar10.Channels * Cifar10.Height * Cifar10.Width;
    private const int RecordBytes = 1 + ImageBytes;

    private static IEnumerable<string> TrainBatchNames => Enumerable.Range(1, TrainBatches).Select(i => $"data_batch_{i}.bin");

    public static TrainTest LoadDirectory(string directory, IReadOnlyList<string> defaultClassNames)
    {
        if (!Directory.Exists(directory))
            throw new DataNotFoundException($"missing directory {directory}: expected CIFAR-10 binary batches data_batch_1..5.bin and {TestBatch}");
        byte[] Read(string file)
        {
            var path = Path.Combine(directory, file);
            if (!File.Exists(path))
                throw new DataNotFoundException($"missing file {path}: expected CIFAR-10 binary batches data_batch_1..5.bin and {TestBatch} in {directory}; set --data-dir or {DataDirectory.EnvironmentVariable}");
            return DataFiles.Guard(path, () => File.ReadAllBytes(path));
        }
        var train = TrainBatchNames.Select(f => (Path.Combine(directory, f), Read(f))).ToList();
        var test = (Path.Combine(directory, TestBatch), Read(TestBatch));
        var metaPath = Path.Combine(directory, MetaFile);
        var classNames = File.Exists(metaPath)
            ? ParseMeta(metaPath, DataFiles.Guard(metaPath, () => File.ReadAllBytes(metaPath)))
            : defaultClassNames;
        return Build(train, test, classNames);
    }

    public static TrainTest LoadTarball(string tarPath, IReadOnlyList<string> defaultClassNames)
    {
        if (!File.Exists(tarPath))
            throw new DataNotFoundException($"missing file {tarPath}: expected a tar(.gz) of CIFAR-10 binary batches");
        // Entries are matched by file name wherever they sit, so both the official cifar-10-batches-bin/
        // prefix and a flat tar are accepted.
        var files = DataFiles.Guard(tarPath, () =>
        {
            var found = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            using var reader = DataFiles.OpenTar(tarPath);
            for (TarEntry? e; (e = reader.GetNextEntry()) is not null;)
            {
                if (e.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
                var name = e.Name.Split('/', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
                if (name != TestBatch && name != MetaFile && !TrainBatchNames.Contains(name)) continue;
                var bytes = new byte[e.Length];
                e.DataStream?.ReadExactly(bytes);
                found[name] = bytes;
            }
            return found;
        });
        (string, byte[]) Get(string name) => files.TryGetValue(name, out var bytes)
            ? ($"{tarPath}:{name}", bytes)
            : throw new DataFormatException($"{tarPath}: expected an entry {name} (CIFAR-10 binary batches data_batch_1..5.bin and {TestBatch}), found none");
        var classNames = files.TryGetValue(MetaFile, out var meta) ? ParseMeta($"{tarPath}:{MetaFile}", meta) : defaultClassNames;
        return Build(TrainBatchNames.Select(Get).ToList(), Get(TestBatch), classNames);
    }

    private static string[] ParseMeta(string source, byte[] bytes)
    {
        var names = Encoding.UTF8.GetString(bytes).Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        if (names.Length is 0 or > 256)
            throw new DataFormatException($"{source}: expected one class name per line (1..256 classes), found {names.Length}");
        return names;
    }

    private static TrainTest Build(IReadOnlyList<(string Source, byte[] Bytes)> trainBatches, (string Source, byte[] Bytes) testBatch, IReadOnlyList<string> classNames) =>
        new(Parse("cifar10/train", trainBatches, classNames), Parse("cifar10/test", [testBatch], classNames));

    private static LabeledDataset Parse(string name, IReadOnlyList<(string Source, byte[] Bytes)> batches, IReadOnlyList<string> classNames)
    {
        foreach (var (source, bytes) in batches)
            if (bytes.Length % RecordBytes != 0)
                throw new DataFormatException(
                    $"{source}: expected a whole number of {RecordBytes}-byte records (1 label + {ImageBytes} pixels), found {bytes.Length} bytes ({bytes.Length / RecordBytes} records and {bytes.Length % RecordBytes} bytes left over)");
        int count = batches.Sum(b => b.Bytes.Length / RecordBytes);
        var pixels = new byte[(long)count * ImageBytes];
        var labels = new int[count];
        int i = 0;
        foreach (var (source, bytes) in batches)
        {
            for (int r = 0; r < bytes.Length / RecordBytes; r++, i++)
            {
                var record = bytes.AsSpan(r * RecordBytes, RecordBytes);
                labels[i] = record[0];
                if (labels[i] >= classNames.Count)
                    throw new DataFormatException($"{source}: record {r}: label {labels[i]} is outside 0..{classNames.Count - 1}");
                record[1..].CopyTo(pixels.AsSpan(i * ImageBytes, ImageBytes));
            }
        }
        return new LabeledDataset(name, pixels, labels, [Cifar10.Channels, Cifar10.Height, Cifar10.Width], classNames,
            PixelLevels.UnitInterval(Cifar10.Channels));
    }
}
