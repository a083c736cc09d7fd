namespace NasSharp.Data;

/// <summary>One dataset the toolkit knows how to load, and where under the data root it lives.</summary>
public sealed class DatasetEntry
{
    private readonly Func<string, string?, IProgress<(int done, int total)>?, TrainTest> _load;

    internal DatasetEntry(string name, string folder, string description, int[] sampleShape, int classes, bool hasOfficialTest,
        Func<string, string?, IProgress<(int done, int total)>?, TrainTest> load, CanonicalCounts? canonical = null)
    {
        Canonical = canonical;
        Name = name;
        Folder = folder;
        Description = description;
        SampleShape = sampleShape;
        Classes = classes;
        HasOfficialTest = hasOfficialTest;
        _load = load;
    }

    /// <summary>The catalog name used on the command line, e.g. "fashion-mnist".</summary>
    public string Name { get; }
    /// <summary>Sub-folder of the data root holding the files.</summary>
    public string Folder { get; }
    public string Description { get; }
    /// <summary>The shape of one sample, known without loading (a data-free search draws Gaussian inputs of it).</summary>
    public IReadOnlyList<int> SampleShape { get; }
    public int Classes { get; }
    /// <summary>False for the scikit-learn tables: <see cref="Load"/> then returns the whole table as Train and a null Test.</summary>
    public bool HasOfficialTest { get; }
    /// <summary>The counts the published dataset has; <see cref="Load"/> refuses files with others.</summary>
    public CanonicalCounts? Canonical { get; }

    /// <param name="dataDirectory">The data root (see <see cref="DataDirectory"/>), not the dataset's own folder.</param>
    /// <param name="cacheDirectory">Cache for decoded images; null means <see cref="DataCache.ResolveDirectory"/>'s default.</param>
    /// <param name="progress">Decoding progress (done, total), reported from worker threads; only slow decodes report.</param>
    public TrainTest Load(string dataDirectory, string? cacheDirectory = null, IProgress<(int done, int total)>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(dataDirectory);
        var directory = Path.Combine(dataDirectory, Folder);
        var data = _load(directory, cacheDirectory, progress);
        if (Canonical is { } counts)
            counts.Check(directory, data.Train.ClassNames, data.Train.Labels, data.Test?.Labels ?? []);
        return data;
    }
}

/// <summary>
/// The datasets by name, in one explicit table. The scikit-learn tables have no official test split:
/// they load as Train only and <see cref="Splits.Make"/> carves validation and test from them.
/// </summary>
public static class DatasetCatalog
{
    public static IReadOnlyList<DatasetEntry> Entries { get; } =
    [
        new("mnist", "mnist", "MNIST handwritten digits, 60k/10k, [1,28,28]", [1, 28, 28], 10, true, (dir, _, _) => Mnist.Load(dir), Mnist.Canonical),
        new("fashion-mnist", "fashion-mnist", "Fashion-MNIST clothing, 60k/10k, [1,28,28]", [1, 28, 28], 10, true, (dir, _, _) => FashionMnist.Load(dir),
            FashionMnist.Canonical),
        new("cifar10", "cifar10", "CIFAR-10 objects, 50k/10k, [3,32,32]", [3, 32, 32], 10, true,
            (dir, cache, progress) => Cifar10.Load(dir, cache, progress, Cifar10.Canonical), Cifar10.Canonical),
        new("digits", "sklearn", "scikit-learn 8x8 digits, 1,797 samples, [64]", [64], 10, false, Table(dir => SklearnCsv.LoadDigits(SklearnFile(dir, "digits.csv")))),
        new("iris", "sklearn", "Fisher's iris, 150 samples, [4]", [4], 3, false, Table(dir => SklearnCsv.LoadWithHeader(SklearnFile(dir, "iris.csv"), "iris"))),
        new("wine", "sklearn", "UCI wine, 178 samples, [13]", [13], 3, false, Table(dir => SklearnCsv.LoadWithHeader(SklearnFile(dir, "wine_data.csv"), "wine"))),
        new("breast-cancer", "sklearn", "Wisconsin breast cancer, 569 samples, [30]", [30], 2, false,
            Table(dir => SklearnCsv.LoadWithHeader(SklearnFile(dir, "breast_cancer.csv"), "breast-cancer"))),
    ];

    public static IEnumerable<string> Names => Entries.Select(e => e.Name);

    public static DatasetEntry Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Entries.FirstOrDefault(e => string.Equals(e.Name, name.Trim(), StringComparison.OrdinalIgnoreCase))
               ?? throw new ArgumentException($"unknown dataset '{name}'; known datasets: {string.Join(", ", Names)}{Spelling.Suggestion(name, Names)}", nameof(name));
    }

    /// <summary>Loads dataset <paramref name="name"/> from the data root; see <see cref="DatasetEntry.Load"/>.</summary>
    public static TrainTest Load(string name, string dataDirectory, IProgress<(int done, int total)>? progress = null, string? cacheDirectory = null) =>
        Get(name).Load(dataDirectory, cacheDirectory, progress);

    /// <summary>A loader for a table without an official test split.</summary>
    private static Func<string, string?, IProgress<(int done, int total)>?, TrainTest> Table(Func<string, LabeledDataset> load) =>
        (dir, _, _) => new TrainTest(load(dir), null);

    private static string SklearnFile(string directory, string fileName) =>
        DataFiles.FindWithOptionalGz(directory, fileName)
        ?? throw new DataNotFoundException($"missing file {Path.Combine(directory, fileName)}(.gz): expected the scikit-learn table {fileName}; set --data-dir or {DataDirectory.EnvironmentVariable}");
}
