using NasSharp.Benchmarks;
using NasSharp.Data;
using NasSharp.Spaces;
using Xunit;

namespace NasSharp.Tests.Benchmarks;

/// <summary>The shared table, loaded once for the tests that read it.</summary>
public sealed class SharedNb201Table
{
    public Nb201Table Table { get; } = Nb201Table.LoadDefault();
}

public class Nb201TableTests(SharedNb201Table shared) : IClassFixture<SharedNb201Table>
{
    private const string Header = "index,arch,cifar10_valid,cifar10_test,cifar100_valid,cifar100_test,imagenet16_valid,imagenet16_test";
    private const string Row6111 = "6111,|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|,91.1800,94.3733,73.2400,73.2200,46.6000,46.7111";
    private Nb201Table Table => shared.Table;

    [Fact]
    public void TheSharedTableHoldsEveryCellOfTheSpaceOnce()
    {
        Assert.Equal(15_625, Table.Count);
        Assert.Equal(Enumerable.Range(0, 15_625), Table.Entries.Select(e => e.Index).Order());
        var space = new Nb201Space().Enumerate().ToHashSet();
        Assert.True(space.SetEquals(Table.Entries.Select(e => e.Arch)));
        // The file spells every arch canonically.
        var raw = File.ReadLines(Nb201Table.DefaultPath()).Skip(1).Select(l => l.Split(',')[1]).ToList();
        Assert.Equal(raw, Table.Entries.Select(e => e.Arch.Canonical));
    }

    [Fact]
    public void BestCellsAreThoseTheDataReadmeLists()
    {
        // The table's best cells: CIFAR-10 test 94.37 (index 6111), CIFAR-100 test 73.51 (9930), ImageNet16-120 test 47.31 (857).
        // Index 13714 ties 6111 at 94.3733 on CIFAR-10; ties go to the lower index.
        var c10 = Table.Best(Nb201Dataset.Cifar10);
        Assert.Equal(6111, c10.Index);
        Assert.Equal(94.37, c10.Accuracies.Cifar10Test, 0.005);
        Assert.Equal(c10.Accuracies.Cifar10Test, Table.ByIndex(13714).Accuracies.Cifar10Test);
        var c100 = Table.Best(Nb201Dataset.Cifar100, Nb201Metric.Test);
        Assert.Equal(9930, c100.Index);
        Assert.Equal(73.51, c100.Accuracies.Cifar100Test, 0.005);
        var in16 = Table.Best(Nb201Dataset.ImageNet16);
        Assert.Equal(857, in16.Index);
        Assert.Equal(47.31, in16.Accuracies.ImageNet16Test, 0.005);
        // Validation accuracy has its own best cell.
        Assert.Equal(1459, Table.Best(Nb201Dataset.Cifar10, Nb201Metric.Valid).Index);
    }

    [Fact]
    public void LookupByStringOrIndexGivesTheRowsSixAccuracies()
    {
        var e = Table.Lookup("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|");
        Assert.Equal(6111, e.Index);
        Assert.Equal(new Nb201Accuracies(91.18, 94.3733, 73.24, 73.22, 46.6, 46.7111), e.Accuracies);
        // An equivalent spelling: the edges of a node in another order.
        Assert.Equal(6111, Table.Lookup("|nor_conv_3x3~0|+|nor_conv_3x3~1|nor_conv_3x3~0|+|nor_conv_1x1~2|nor_conv_3x3~1|skip_connect~0|").Index);
        Assert.Equal(e, Table.ByIndex(6111));
        Assert.All(Table.Entries, r => { Assert.Equal(r, Table.ByIndex(r.Index)); Assert.Equal(r, Table.Lookup(r.Arch)); });

        Assert.Throws<GenotypeFormatException>(() => Table.Lookup("|nor_conv_3x3~0|"));
        var missing = Assert.Throws<BenchmarkLookupException>(() => Table.ByIndex(15_625));
        Assert.Contains("indices 0..15624", missing.Message);
    }

    [Fact]
    public void SamplingIsSeededAndWithoutReplacement()
    {
        var a = Table.Sample(200, new Random(4)).Select(e => e.Index).ToList();
        var b = Table.Sample(200, new Random(4)).Select(e => e.Index).ToList();
        Assert.Equal(a, b);
        Assert.Equal(200, a.Distinct().Count());
        Assert.NotEqual(a, Table.Sample(200, new Random(5)).Select(e => e.Index).ToList());
        Assert.Equal(Table.Count, Table.Sample(Table.Count, new Random(1)).Select(e => e.Index).Distinct().Count());
        Assert.Throws<ArgumentOutOfRangeException>(() => Table.Sample(Table.Count + 1, new Random(1)));
    }

    [Fact]
    public void AUserFileWithTheSameColumnsLoadsEvenAsASubset()
    {
        var path = Path.Combine(Path.GetTempPath(), $"nb201-{Guid.NewGuid():N}.csv");
        try
        {
            File.WriteAllText(path, "\uFEFF" + Header + "\n" + Row6111 + "\n"
                + "3,|avg_pool_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|skip_connect~2|,83.7800,86.6167,58.0000,58.3067,28.1333,28.0444\n\n");
            var t = Nb201Table.Load(path);
            Assert.Equal(2, t.Count);
            Assert.Equal(Path.GetFullPath(path), t.Source);
            Assert.Equal(6111, t.Best(Nb201Dataset.Cifar10).Index);
            Assert.Equal(86.6167, t.ByIndex(3).Accuracies.Cifar10Test);
        }
        finally { File.Delete(path); }
    }

    public static TheoryData<string, string> MalformedTables => new()
    {
        { "", "t.csv:1: the file is empty; expected the header index,arch," },
        { "index,arch,cifar10_valid\n", "t.csv:1: expected the header index,arch,cifar10_valid,cifar10_test," },
        { Header + "\n", "t.csv: the table has a header but no rows" },
        { Header + "\n" + Row6111 + ",1.0\n", "t.csv:2: expected 8 comma-separated fields" },
        { Header + "\n" + Row6111.Replace("6111,", "x,") + "\n", "t.csv:2: index 'x' is not a non-negative integer" },
        { Header + "\n" + Row6111.Replace("nor_conv_1x1~2", "conv~2") + "\n", "t.csv:2: Malformed nb201 architecture" },
        { Header + "\n" + Row6111.Replace("94.3733", "NaN") + "\n", "t.csv:2: cifar10_test 'NaN' is not an accuracy in %" },
        { Header + "\n" + Row6111.Replace("94.3733", "194") + "\n", "t.csv:2: cifar10_test '194' is not an accuracy" },
        { Header + "\n" + Row6111 + "\n" + Row6111.Replace("6111,", "7,") + "\n", "t.csv:3: arch |nor_conv_3x3~0|" },
        { Header + "\n" + Row6111 + "\n\n" + Row6111.Replace("nor_conv_1x1~2", "none~2") + "\n", "t.csv:4: index 6111 already appears on line 2" },
    };

    [Theory]
    [MemberData(nameof(MalformedTables))]
    public void MalformedTablesAreRejectedNamingFileAndLine(string content, string expected)
    {
        var e = Assert.Throws<DataFormatException>(() => Nb201Table.Load(new StringReader(content), "t.csv"));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void AMissingFileIsNamed()
    {
        var path = Path.Combine(Path.GetTempPath(), $"absent-{Guid.NewGuid():N}.csv");
        var e = Assert.Throws<DataNotFoundException>(() => Nb201Table.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("index,arch,cifar10_valid", e.Message);
    }
}
