using System.Globalization;
using NasSharp.Data;
using NasSharp.Spaces;

namespace NasSharp.Benchmarks;

/// <summary>The three datasets of NAS-Bench-201.</summary>
public enum Nb201Dataset
{
    Cifar10,
    Cifar100,
    /// <summary>ImageNet16-120: 120 classes of ImageNet downsampled to 16×16.</summary>
    ImageNet16,
}

/// <summary>Which accuracy of a dataset: validation or test.</summary>
public enum Nb201Metric
{
    Valid,
    Test,
}

/// <summary>Tokens for <see cref="Nb201Dataset"/> and <see cref="Nb201Metric"/> (the CSV column prefixes and suffixes).</summary>
public static class Nb201Names
{
    public static string Token(this Nb201Dataset d) => d switch
    {
        Nb201Dataset.Cifar10 => "cifar10",
        Nb201Dataset.Cifar100 => "cifar100",
        Nb201Dataset.ImageNet16 => "imagenet16",
        _ => throw new ArgumentOutOfRangeException(nameof(d), d, "Unknown NB201 dataset."),
    };

    public static string Token(this Nb201Metric m) => m switch
    {
        Nb201Metric.Valid => "valid",
        Nb201Metric.Test => "test",
        _ => throw new ArgumentOutOfRangeException(nameof(m), m, "Unknown NB201 metric."),
    };

    public static bool TryParseDataset(string token, out Nb201Dataset dataset)
    {
        foreach (var d in Enum.GetValues<Nb201Dataset>())
            if (string.Equals(d.Token(), token, StringComparison.OrdinalIgnoreCase)) { dataset = d; return true; }
        dataset = default;
        return false;
    }

    public static bool TryParseMetric(string token, out Nb201Metric metric)
    {
        foreach (var m in Enum.GetValues<Nb201Metric>())
            if (string.Equals(m.Token(), token, StringComparison.OrdinalIgnoreCase)) { metric = m; return true; }
        metric = default;
        return false;
    }
}

/// <summary>The six accuracies (%) of one cell, in the column order of the table.</summary>
public sealed record Nb201Accuracies(
    double Cifar10Valid, double Cifar10Test,
    double Cifar100Valid, double Cifar100Test,
    double ImageNet16Valid, double ImageNet16Test)
{
    public double Get(Nb201Dataset dataset, Nb201Metric metric) => (dataset, metric) switch
    {
        (Nb201Dataset.Cifar10, Nb201Metric.Valid) => Cifar10Valid,
        (Nb201Dataset.Cifar10, Nb201Metric.Test) => Cifar10Test,
        (Nb201Dataset.Cifar100, Nb201Metric.Valid) => Cifar100Valid,
        (Nb201Dataset.Cifar100, Nb201Metric.Test) => Cifar100Test,
        (Nb201Dataset.ImageNet16, Nb201Metric.Valid) => ImageNet16Valid,
        (Nb201Dataset.ImageNet16, Nb201Metric.Test) => ImageNet16Test,
        _ => throw new ArgumentOutOfRangeException(nameof(dataset), $"Unknown dataset/metric {dataset}/{metric}."),
    };
}

/// <summary>One row of the table: the benchmark's index of the cell, the cell, its accuracies.</summary>
public sealed record Nb201Entry(int Index, Nb201Genotype Arch, Nb201Accuracies Accuracies);

/// <summary>A cell or index that the table does not hold.</summary>
public sealed class BenchmarkLookupException(string message) : KeyNotFoundException(message);

/// <summary>
/// The NAS-Bench-201 accuracy table: a CSV with the header
/// <c>index,arch,cifar10_valid,cifar10_test,cifar100_valid,cifar100_test,imagenet16_valid,imagenet16_test</c>,
/// accuracies in %, one row per cell. The shared copy (<c>&lt;data&gt;/nas-bench-201/nb201_accuracy.csv</c>, from
/// NATS-Bench's topology space via NASLib's tables) holds all 15,625 cells; any file with the same columns loads,
/// also a subset. The index is the benchmark's own (not <see cref="Nb201Genotype.Index"/>).
/// </summary>
public sealed class Nb201Table : IGroundTruth
{
    public const string RelativePath = "nas-bench-201/nb201_accuracy.csv";
    public static IReadOnlyList<string> Columns { get; } =
        ["index", "arch", "cifar10_valid", "cifar10_test", "cifar100_valid", "cifar100_test", "imagenet16_valid", "imagenet16_test"];

    private readonly Dictionary<int, Nb201Entry> byIndex;
    private readonly Dictionary<Nb201Genotype, Nb201Entry> byArch;

    private Nb201Table(string source, List<Nb201Entry> entries)
    {
        Source = source;
        Entries = entries.AsReadOnly();
        byIndex = entries.ToDictionary(e => e.Index);
        byArch = entries.ToDictionary(e => e.Arch);
    }

    /// <summary>The file the table was read from.</summary>
    public string Source { get; }

    /// <summary>Rows in file order.</summary>
    public IReadOnlyList<Nb201Entry> Entries { get; }

    public int Count => Entries.Count;

    /// <summary><c>&lt;data&gt;/nas-bench-201/nb201_accuracy.csv</c> under the resolved data directory.</summary>
    public static string DefaultPath(string? dataDirectory = null) =>
        Path.Combine(DataDirectory.Resolve(dataDirectory).Path, "nas-bench-201", "nb201_accuracy.csv");

    /// <summary>Loads the shared table from the data directory (<see cref="DataDirectory.Resolve(string?)"/>).</summary>
    public static Nb201Table LoadDefault(string? dataDirectory = null) => Load(DefaultPath(dataDirectory));

    public static Nb201Table Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new DataNotFoundException($"missing NAS-Bench-201 table {full}: expected a CSV with columns {string.Join(",", Columns)} (the shared copy lives at <data>/{RelativePath})");
        try
        {
            using var reader = new StreamReader(full, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            return Load(reader, full);
        }
        catch (IOException e)
        {
            throw new DataFormatException($"{full}: cannot read the NAS-Bench-201 table: {e.Message}", e);
        }
    }

    /// <summary>Reads a table from <paramref name="reader"/>; <paramref name="source"/> names it in error messages.</summary>
    public static Nb201Table Load(TextReader reader, string source)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(source);
        string At(int line) => $"{source}:{line}";

        var header = reader.ReadLine();
        if (header is null)
            throw new DataFormatException($"{At(1)}: the file is empty; expected the header {string.Join(",", Columns)}");
        var names = Split(header.TrimStart('\uFEFF'));
        if (!names.SequenceEqual(Columns, StringComparer.Ordinal))
            throw new DataFormatException($"{At(1)}: expected the header {string.Join(",", Columns)}, got {header}");

        var entries = new List<Nb201Entry>();
        var lineOfIndex = new Dictionary<int, int>();
        var lineOfArch = new Dictionary<Nb201Genotype, int>();
        int lineNo = 1;
        for (var line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            lineNo++;
            if (line.Trim().Length == 0) continue;
            var f = Split(line);
            if (f.Length != Columns.Count)
                throw new DataFormatException($"{At(lineNo)}: expected {Columns.Count} comma-separated fields ({string.Join(",", Columns)}), got {f.Length}");
            if (!int.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                throw new DataFormatException($"{At(lineNo)}: index '{f[0]}' is not a non-negative integer");
            Nb201Genotype arch;
            try { arch = Nb201Genotype.Parse(f[1]); }
            catch (GenotypeFormatException e) { throw new DataFormatException($"{At(lineNo)}: {e.Message}", e); }
            var acc = new double[6];
            for (int k = 0; k < 6; k++)
            {
                var text = f[k + 2];
                if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out acc[k]) || !double.IsFinite(acc[k]) || acc[k] is < 0 or > 100)
                    throw new DataFormatException($"{At(lineNo)}: {Columns[k + 2]} '{text}' is not an accuracy in % (a number from 0 to 100)");
            }
            if (lineOfIndex.TryGetValue(index, out var previous))
                throw new DataFormatException($"{At(lineNo)}: index {index} already appears on line {previous}");
            if (lineOfArch.TryGetValue(arch, out previous))
                throw new DataFormatException($"{At(lineNo)}: arch {arch} already appears on line {previous}");
            lineOfIndex.Add(index, lineNo);
            lineOfArch.Add(arch, lineNo);
            entries.Add(new Nb201Entry(index, arch, new Nb201Accuracies(acc[0], acc[1], acc[2], acc[3], acc[4], acc[5])));
        }
        if (entries.Count == 0)
            throw new DataFormatException($"{source}: the table has a header but no rows");
        return new Nb201Table(source, entries);
    }

    /// <summary>
    /// Writes rows as a table <see cref="Load(string)"/> reads, accuracies in their shortest round-trip form, to a temporary
    /// file renamed over <paramref name="path"/> once complete: an interrupted write never leaves a table cut short.
    /// </summary>
    public static void Write(IEnumerable<Nb201Entry> entries, string path)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        var temp = full + ".tmp";
        using (var writer = new StreamWriter(temp, append: false, new System.Text.UTF8Encoding(false)))
        {
            writer.NewLine = "\n";
            writer.WriteLine(string.Join(",", Columns));
            foreach (var e in entries)
            {
                var a = e.Accuracies;
                var values = new[] { a.Cifar10Valid, a.Cifar10Test, a.Cifar100Valid, a.Cifar100Test, a.ImageNet16Valid, a.ImageNet16Test };
                writer.WriteLine($"{e.Index.ToString(CultureInfo.InvariantCulture)},{e.Arch.Canonical}," +
                    string.Join(",", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
            }
        }
        File.Move(temp, full, overwrite: true);
    }

    // Fields are plain (arch strings have no commas); a field wrapped in double quotes is unwrapped.
    private static string[] Split(string line) =>
        [.. line.Split(',').Select(f => f.Trim()).Select(f => f.Length >= 2 && f[0] == '"' && f[^1] == '"' ? f[1..^1] : f)];

    public bool TryGetByIndex(int index, out Nb201Entry entry) => byIndex.TryGetValue(index, out entry!);

    /// <summary>The row with the benchmark's index <paramref name="index"/>.</summary>
    public Nb201Entry ByIndex(int index) => TryGetByIndex(index, out var e) ? e
        : throw new BenchmarkLookupException($"index {index} is not in the NAS-Bench-201 table {Source} ({Count:N0} rows, indices {byIndex.Keys.Min()}..{byIndex.Keys.Max()})");

    public bool TryLookup(Nb201Genotype arch, out Nb201Entry entry)
    {
        ArgumentNullException.ThrowIfNull(arch);
        return byArch.TryGetValue(arch, out entry!);
    }

    /// <summary>The row of a cell.</summary>
    public Nb201Entry Lookup(Nb201Genotype arch) => TryLookup(arch, out var e) ? e
        : throw new BenchmarkLookupException($"{arch} is not in the NAS-Bench-201 table {Source} ({Count:N0} rows)");

    /// <summary>
    /// The row of an arch string: the canonical form or any spelling <see cref="Nb201Genotype.Parse"/> accepts
    /// (edges of a node in any order, surrounding whitespace). Malformed strings throw <see cref="GenotypeFormatException"/>.
    /// </summary>
    public Nb201Entry Lookup(string arch) => Lookup(Nb201Genotype.Parse(arch));

    /// <summary>The row with the highest accuracy; ties go to the lowest index.</summary>
    public Nb201Entry Best(Nb201Dataset dataset, Nb201Metric metric = Nb201Metric.Test)
    {
        Nb201Entry? best = null;
        foreach (var e in Entries)
        {
            double a = e.Accuracies.Get(dataset, metric);
            if (best is null || a > best.Accuracies.Get(dataset, metric) || (a == best.Accuracies.Get(dataset, metric) && e.Index < best.Index))
                best = e;
        }
        return best!;
    }

    /// <summary><paramref name="count"/> distinct rows drawn uniformly without replacement, in draw order.</summary>
    public IReadOnlyList<Nb201Entry> Sample(int count, Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (count < 0 || count > Count)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"Can draw 0..{Count} distinct rows from {Source}.");
        var order = Enumerable.Range(0, Count).ToArray();
        var drawn = new Nb201Entry[count];
        for (int i = 0; i < count; i++)
        {
            int j = i + rng.Next(Count - i); // partial Fisher–Yates
            (order[i], order[j]) = (order[j], order[i]);
            drawn[i] = Entries[order[i]];
        }
        return drawn;
    }

    /// <summary>The three datasets' test accuracies, the ground truth of correlation runs and search comparisons.</summary>
    public static IReadOnlyList<GroundTruthTarget> Targets { get; } =
        [new(Nb201Dataset.Cifar10.Token(), 10), new(Nb201Dataset.Cifar100.Token(), 100), new(Nb201Dataset.ImageNet16.Token(), 120)];

    /// <summary>
    /// Published Spearman ρ of zero-cost proxies with NB201 test accuracy (CIFAR-10 / CIFAR-100 / ImageNet16-120):
    /// Abdelfattah et al., ICLR 2021 (arXiv 2101.08134), as collected in ZiCo (Li et al., ICLR 2023, arXiv 2301.11300,
    /// Table 1), and TE-NAS (Chen, Gong, Wang, ICLR 2021, arXiv 2102.11535); NASWOT's are Kendall τ (Mellor et al.,
    /// ICML 2021, arXiv 2006.04647). AZ-NAS (Lee &amp; Ham, CVPR 2024, arXiv 2403.19232) and SWAP (Peng et al., ICLR 2024,
    /// arXiv 2403.04161) over all 15,625 cells as tabulated by Kang, Lin &amp; Wang (2025); regularised SWAP's CIFAR-100
    /// figure is its paper's (the only one it states for NB201).
    /// </summary>
    public static IReadOnlyDictionary<string, PublishedFigure> PublishedCorrelations { get; } = new Dictionary<string, PublishedFigure>
    {
        ["params"] = Figure("spearman", 0.75, 0.73, 0.69),
        ["flops"] = Figure("spearman", 0.73, 0.71, 0.67),
        ["synflow"] = Figure("spearman", 0.73, 0.76, 0.75),
        ["snip"] = Figure("spearman", 0.63, 0.63, 0.58),
        ["grad_norm"] = Figure("spearman", 0.63, 0.63, 0.58),
        ["grasp"] = Figure("spearman", 0.54, 0.51, 0.56),
        ["fisher"] = Figure("spearman", 0.55, 0.55, 0.50),
        ["zico"] = Figure("spearman", 0.80, 0.81, 0.79),
        ["ntk_cond"] = Figure("spearman", 0.70, 0.67, 0.64),
        ["naswot"] = Figure("kendall", 0.574, 0.611, 0.549),
        ["az_nas"] = Figure("spearman", 0.913, 0.900, 0.886),
        ["swap"] = Figure("spearman", 0.810, 0.820, 0.774),
        ["swap_reg"] = new("spearman", new Dictionary<string, double> { ["cifar100"] = 0.90 }),
    };

    /// <summary>
    /// Published NB201 test accuracies (%) of the cells search methods found (CIFAR-10 / CIFAR-100 / ImageNet16-120):
    /// NASI (Shu, Cai, Dai, Ooi, Low, ICLR 2022, arXiv 2109.00817), NASWOT with N = 1000 (Mellor et al., ICML 2021), and
    /// the table's optimum.
    /// </summary>
    public static IReadOnlyDictionary<string, PublishedFigure> PublishedSearches { get; } = new Dictionary<string, PublishedFigure>
    {
        ["NASI (paper)"] = Figure("test_accuracy_percent", 93.55, 71.20, 44.84),
        ["NASWOT N=1000 (paper)"] = Figure("test_accuracy_percent", 92.96, 69.98, 44.44),
        ["optimum"] = Figure("test_accuracy_percent", 94.37, 73.51, 47.31),
    };

    private static PublishedFigure Figure(string statistic, double cifar10, double cifar100, double imageNet16) =>
        new(statistic, new Dictionary<string, double> { ["cifar10"] = cifar10, ["cifar100"] = cifar100, ["imagenet16"] = imageNet16 });

    /// <summary>A row as ground truth: the test accuracy of each dataset.</summary>
    public static GroundTruthEntry AsGroundTruth(Nb201Entry entry) => new(entry.Arch, new Dictionary<string, double>
    {
        ["cifar10"] = entry.Accuracies.Cifar10Test,
        ["cifar100"] = entry.Accuracies.Cifar100Test,
        ["imagenet16"] = entry.Accuracies.ImageNet16Test,
    });

    private IReadOnlyList<GroundTruthEntry>? groundTruth;

    IReadOnlyList<GroundTruthTarget> IGroundTruth.Targets => Targets;
    IReadOnlyList<GroundTruthEntry> IGroundTruth.Entries => groundTruth ??= [.. Entries.Select(AsGroundTruth)];
    IReadOnlyList<GroundTruthEntry> IGroundTruth.Sample(int count, Random rng) => [.. Sample(count, rng).Select(AsGroundTruth)];
    GroundTruthEntry? IGroundTruth.Lookup(IGenotype arch) => arch is Nb201Genotype cell && TryLookup(cell, out var e) ? AsGroundTruth(e) : null;
    IReadOnlyDictionary<string, PublishedFigure> IGroundTruth.PublishedCorrelations => PublishedCorrelations;
    IReadOnlyDictionary<string, PublishedFigure> IGroundTruth.PublishedSearches => PublishedSearches;
}
