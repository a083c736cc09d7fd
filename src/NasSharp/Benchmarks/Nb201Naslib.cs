using System.Collections;
using NasSharp.Data;
using NasSharp.Spaces;
using Razorvine.Pickle;

namespace NasSharp.Benchmarks;

/// <summary>Where one column of a converted NAS-Bench-201 table came from: the pickle file and its dataset key.</summary>
public sealed record Nb201ColumnSource(string Column, string File, string DatasetKey);

/// <summary>A table converted from NASLib's pickles: its rows, where each column came from, and how rows were numbered.</summary>
public sealed record Nb201Conversion(IReadOnlyList<Nb201Entry> Entries, IReadOnlyList<Nb201ColumnSource> Columns, string IndexSource);

/// <summary>
/// Reads NAS-Bench-201 (Dong and Yang, ICLR 2020, arXiv 2001.00326) from the pickles NASLib (White et al., "How Powerful are
/// Performance Predictors in Neural Architecture Search?", NeurIPS 2021, arXiv 2104.01177) distributes:
/// <c>nb201_cifar10_full_training.pickle</c>, <c>nb201_cifar100_full_training.pickle</c>, <c>nb201_ImageNet16_full_training.pickle</c>.
/// Each is a dict from the cell's arch string to a dict from a dataset key (<c>cifar10-valid</c>, <c>cifar10</c>,
/// <c>cifar100</c>, <c>ImageNet16-120</c>) to the training record, whose <c>eval_acc1es</c> is the evaluation accuracy (%)
/// after each of the 200 epochs. NASLib reports the last entry as a cell's accuracy, and uses the same entry for validation
/// and test; CIFAR-10's validation is the <c>cifar10-valid</c> key (trained on half of the training set), its test the
/// <c>cifar10</c> key (trained on all of it, evaluated on the test set) where the file has one.
/// The files are read with Razorvine.Pickle, which builds only plain values (dicts, lists, numbers, strings) and runs no
/// code from the file, unlike Python's pickle.
/// </summary>
public static class Nb201Naslib
{
    public const string Cifar10File = "nb201_cifar10_full_training.pickle";
    public const string Cifar100File = "nb201_cifar100_full_training.pickle";
    public const string ImageNet16File = "nb201_ImageNet16_full_training.pickle";
    public const string AccuracyKey = "eval_acc1es";

    /// <summary>Each cell's last-epoch <c>eval_acc1es</c> (%) in the file, by dataset key: arch string → dataset key → accuracy.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> FinalAccuracies(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new DataNotFoundException($"missing file {full}: expected one of NASLib's NAS-Bench-201 pickles ({Cifar10File} and the others)");
        object root;
        try
        {
            using var stream = File.OpenRead(full);
            using var unpickler = new Unpickler();
            root = unpickler.load(stream);
        }
        catch (Exception e) when (e is PickleException or InvalidOperationException or IOException or InvalidCastException or ArgumentException
                                      or IndexOutOfRangeException or OverflowException)
        {
            throw new DataFormatException($"{full}: not a readable pickle ({e.GetType().Name}: {e.Message})", e);
        }
        var cells = root as IDictionary ?? throw new DataFormatException($"{full}: expected a dict from arch strings to training records, found {Describe(root)}");
        var result = new Dictionary<string, IReadOnlyDictionary<string, double>>(StringComparer.Ordinal);
        foreach (DictionaryEntry cell in cells)
        {
            var arch = cell.Key as string ?? throw new DataFormatException($"{full}: a key is {Describe(cell.Key)}, expected an arch string");
            var datasets = cell.Value as IDictionary ?? throw new DataFormatException($"{full}: {arch}: expected a dict of dataset keys, found {Describe(cell.Value)}");
            var accuracies = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (DictionaryEntry dataset in datasets)
            {
                var key = dataset.Key as string ?? throw new DataFormatException($"{full}: {arch}: a dataset key is {Describe(dataset.Key)}");
                if (dataset.Value is not IDictionary record || !record.Contains(AccuracyKey)) continue; // Not a training record.
                var curve = record[AccuracyKey] as IList ?? throw new DataFormatException($"{full}: {arch}: {key}: {AccuracyKey} is {Describe(record[AccuracyKey])}, expected a list");
                if (curve.Count == 0) throw new DataFormatException($"{full}: {arch}: {key}: {AccuracyKey} is empty");
                accuracies[key] = Number(curve[curve.Count - 1], () => $"{full}: {arch}: {key}: {AccuracyKey}[-1]");
            }
            result[arch] = accuracies;
        }
        return result;
    }

    /// <summary>
    /// The table of the cells found in all three files. Rows are numbered by <paramref name="indexTable"/> (a table with the
    /// benchmark's own indices, such as the reference one) when given, else by <see cref="Nb201Genotype.Index"/>.
    /// </summary>
    public static Nb201Conversion Convert(string cifar10Pickle, string cifar100Pickle, string imageNet16Pickle, Nb201Table? indexTable = null)
    {
        var c10 = FinalAccuracies(cifar10Pickle);
        var c100 = FinalAccuracies(cifar100Pickle);
        var in16 = FinalAccuracies(imageNet16Pickle);
        var c10Test = c10.Values.All(v => v.ContainsKey("cifar10")) ? "cifar10" : "cifar10-valid";
        var columns = new List<Nb201ColumnSource>
        {
            new("cifar10_valid", cifar10Pickle, "cifar10-valid"), new("cifar10_test", cifar10Pickle, c10Test),
            new("cifar100_valid", cifar100Pickle, "cifar100"), new("cifar100_test", cifar100Pickle, "cifar100"),
            new("imagenet16_valid", imageNet16Pickle, "ImageNet16-120"), new("imagenet16_test", imageNet16Pickle, "ImageNet16-120"),
        };
        var files = new Dictionary<string, IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>>>
        {
            [cifar10Pickle] = c10, [cifar100Pickle] = c100, [imageNet16Pickle] = in16,
        };
        var entries = new List<Nb201Entry>();
        foreach (var arch in c10.Keys)
        {
            Nb201Genotype cell;
            try { cell = Nb201Genotype.Parse(arch); }
            catch (GenotypeFormatException e) { throw new DataFormatException($"{cifar10Pickle}: {e.Message}", e); }
            var values = columns.Select(c => files[c.File].TryGetValue(arch, out var byKey) && byKey.TryGetValue(c.DatasetKey, out var v) ? v
                : throw new DataFormatException($"{c.File}: no {c.DatasetKey} record for {arch}, which {cifar10Pickle} has: the three files must cover the same cells")).ToArray();
            foreach (var (value, column) in values.Zip(columns))
                if (value is < 0 or > 100)
                    throw new DataFormatException($"{column.File}: {arch}: {column.DatasetKey}: {AccuracyKey}[-1] is {value}, not an accuracy in % (0 to 100)");
            int index = indexTable is null ? cell.Index
                : indexTable.TryLookup(cell, out var known) ? known.Index
                : throw new DataFormatException($"{arch} is not in the index table {indexTable.Source}");
            entries.Add(new Nb201Entry(index, cell, new Nb201Accuracies(values[0], values[1], values[2], values[3], values[4], values[5])));
        }
        foreach (var (file, cells) in files)
            if (cells.Keys.FirstOrDefault(a => !c10.ContainsKey(a)) is { } extra)
                throw new DataFormatException($"{file}: {extra} is not in {cifar10Pickle}: the three files must cover the same cells");
        if (entries.Count == 0) throw new DataFormatException($"{cifar10Pickle}: no cells");
        entries.Sort((a, b) => a.Index.CompareTo(b.Index));
        return new Nb201Conversion(entries, columns,
            indexTable is null ? "the cell's enumeration index (Nb201Genotype.Index), not NAS-Bench-201's own: no table with the benchmark's indices was given"
                : $"NAS-Bench-201's index, from {indexTable.Source}");
    }

    private static double Number(object? value, Func<string> where) => value switch
    {
        double d when double.IsFinite(d) => d,
        int i => i,
        long l => l,
        float f when float.IsFinite(f) => f,
        decimal m => (double)m,
        _ => throw new DataFormatException($"{where()} is {Describe(value)}, expected a finite number"),
    };

    private static string Describe(object? value) => value is null ? "None" : $"{value} ({value.GetType().Name})";
}
