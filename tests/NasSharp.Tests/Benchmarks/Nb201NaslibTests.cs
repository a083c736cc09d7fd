using NasSharp.Benchmarks;
using NasSharp.Data;
using NasSharp.Spaces;
using NasSharp.Tests.Cli;
using NasSharp.Tests.Data;
using Razorvine.Pickle;
using Xunit;

namespace NasSharp.Tests.Benchmarks;

/// <summary>
/// NASLib's NAS-Bench-201 pickles to the table the tool reads. Two fixtures in NASLib's layout: files written by CPython's
/// own pickle (protocols 4, 3 and 5) by the committed <c>Fixtures/make_naslib_nb201.py</c>, and files written here by
/// Razorvine's Pickler. The expected values are the last epoch's <c>eval_acc1es</c> the script writes, stated below.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class Nb201NaslibTests
{
    private static readonly string Fixtures = Path.Combine(Repository.Root, "tests", "NasSharp.Tests", "Benchmarks", "Fixtures");
    private static string Fixture(string name) => Path.Combine(Fixtures, name);

    private const string Best = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
    private const string Pool = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|";
    private const string Empty = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|";

    // The script's FINAL table: (cifar10-valid, cifar10, cifar100, ImageNet16-120) for each cell.
    private static readonly Dictionary<string, double[]> Expected = new()
    {
        [Best] = [91.60666666666667, 94.37, 73.49, 46.73333333333333],
        [Pool] = [81.9, 85.8633, 53.68, 25.7667],
        [Empty] = [10.0, 10.0, 1.0, 0.8333333333333334],
    };

    private static void AssertRows(IReadOnlyList<Nb201Entry> entries)
    {
        Assert.Equal(Expected.Count, entries.Count);
        foreach (var e in entries)
        {
            var x = Expected[e.Arch.Canonical];
            // Validation from cifar10-valid, test from cifar10; CIFAR-100 and ImageNet16-120 have one evaluation for both.
            Assert.Equal([x[0], x[1], x[2], x[2], x[3], x[3]],
                [e.Accuracies.Cifar10Valid, e.Accuracies.Cifar10Test, e.Accuracies.Cifar100Valid, e.Accuracies.Cifar100Test,
                 e.Accuracies.ImageNet16Valid, e.Accuracies.ImageNet16Test]);
        }
    }

    [Fact]
    public void FilesWrittenByPythonsPickleConvertToTheirLastEpochAccuracies()
    {
        var conversion = Nb201Naslib.Convert(Fixture(Nb201Naslib.Cifar10File), Fixture(Nb201Naslib.Cifar100File), Fixture(Nb201Naslib.ImageNet16File));

        AssertRows(conversion.Entries);
        // Without a table of the benchmark's indices, rows are numbered by the cell's enumeration index, in order.
        Assert.Equal(conversion.Entries.Select(e => e.Arch.Index).Order(), conversion.Entries.Select(e => e.Index));
        Assert.Equal("cifar10", conversion.Columns.Single(c => c.Column == "cifar10_test").DatasetKey);
    }

    [Fact]
    public void TheWrittenTableLoadsBackExactlyWithTheBenchmarksIndices()
    {
        var reference = Nb201Table.LoadDefault();
        var conversion = Nb201Naslib.Convert(Fixture(Nb201Naslib.Cifar10File), Fixture(Nb201Naslib.Cifar100File), Fixture(Nb201Naslib.ImageNet16File), reference);
        using var dir = new TempDirectory();
        var path = dir.File("nb201.csv");

        Nb201Table.Write(conversion.Entries, path);
        var table = Nb201Table.Load(path);

        AssertRows(table.Entries);
        // The reference table's rows of these cells (checked by hand in the CSV: lines 2, 1653 and 9932).
        Assert.Equal(0, table.Lookup(Pool).Index);
        Assert.Equal(1651, table.Lookup(Empty).Index);
        Assert.Equal(9930, table.Lookup(Best).Index);
    }

    [Fact]
    public void FilesWrittenByRazorvinesPicklerConvertToo()
    {
        using var dir = new TempDirectory();
        string Write(string name, string[] keys, int[] columns)
        {
            var data = new Dictionary<string, object>();
            foreach (var (arch, values) in Expected)
                data[arch] = keys.Zip(columns).ToDictionary(k => k.First, k => (object)new Dictionary<string, object>
                {
                    ["eval_acc1es"] = new List<object> { values[k.Second] / 2, values[k.Second] },
                    ["train_acc1es"] = new List<object> { 50.0, 99.0 },
                    ["cost_info"] = new Dictionary<string, object> { ["flops"] = 1.5, ["params"] = 0.1 },
                });
            var path = dir.File(name);
            using var pickler = new Pickler();
            File.WriteAllBytes(path, pickler.dumps(data));
            return path;
        }

        var conversion = Nb201Naslib.Convert(Write("c10", ["cifar10-valid", "cifar10"], [0, 1]), Write("c100", ["cifar100"], [2]), Write("in16", ["ImageNet16-120"], [3]));

        AssertRows(conversion.Entries);
    }

    [Fact]
    public void FilesThatDoNotCoverTheSameCellsAreRefused()
    {
        using var dir = new TempDirectory();
        var only = new Dictionary<string, object>
        {
            [Best] = new Dictionary<string, object> { ["cifar100"] = new Dictionary<string, object> { ["eval_acc1es"] = new List<object> { 70.0 } } },
        };
        var c100 = dir.File("c100");
        using (var pickler = new Pickler()) File.WriteAllBytes(c100, pickler.dumps(only));

        var e = Assert.Throws<DataFormatException>(() =>
            Nb201Naslib.Convert(Fixture(Nb201Naslib.Cifar10File), c100, Fixture(Nb201Naslib.ImageNet16File)));

        Assert.Contains("no cifar100 record for", e.Message);
    }

    [Fact]
    public void AFileThatIsNotAPickleIsOneClearError()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("x.pickle"), "index,arch\n");

        var e = Assert.Throws<DataFormatException>(() => Nb201Naslib.FinalAccuracies(dir.File("x.pickle")));

        Assert.Contains("not a readable pickle", e.Message);
    }

    [Fact]
    public void TheConvertCommandWritesTheTableAndRefusesToOverwriteIt()
    {
        using var dir = new TempDirectory();
        using var cli = new CliHarness();
        var target = dir.File("nb201.csv");
        string[] args = ["data", "convert-nb201", "--cifar10", Fixture(Nb201Naslib.Cifar10File), "--cifar100", Fixture(Nb201Naslib.Cifar100File),
            "--imagenet16", Fixture(Nb201Naslib.ImageNet16File), "--out", target];

        var output = cli.Json(args);

        Assert.Equal(3, output.GetProperty("cells").GetInt32());
        Assert.Contains("NAS-Bench-201's index", output.GetProperty("index_source").GetString());
        AssertRows(Nb201Table.Load(target).Entries);
        Assert.Contains("exists: pass --force", cli.UsageError(args));
        Assert.Equal(94.37, cli.Json("nb201", "query", Best, "--table", target).GetProperty("cifar10_test").GetDouble());
    }
}
