using NasSharp.Spaces;
using Xunit;

namespace NasSharp.Tests.Cli;

[Collection(TorchCollection.Name)]
public class Nb201CommandTests
{
    private const string Best = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|";

    [Fact]
    public void QueryByArchOrIndexPrintsTheIndexAndSixAccuracies()
    {
        using var cli = new CliHarness();
        var j = cli.Json("nb201", "query", Best);
        Assert.Equal(6111, j.GetProperty("index").GetInt32());
        Assert.Equal(Best, j.GetProperty("arch").GetString());
        Assert.Equal(94.3733, j.GetProperty("cifar10_test").GetDouble());
        Assert.Equal(91.18, j.GetProperty("cifar10_valid").GetDouble());
        Assert.Equal(46.7111, j.GetProperty("imagenet16_test").GetDouble());

        var byIndex = cli.Json("nb201", "query", "--index", "6111");
        Assert.Equal(Best, byIndex.GetProperty("arch").GetString());

        var (code, text, _) = cli.Run("nb201", "query", "--index", "6111");
        Assert.Equal(0, code);
        Assert.Contains("index 6111: " + Best, text);
        Assert.Contains("cifar10        91.18   94.37", text);
    }

    [Theory]
    [InlineData("cifar10", "test", 6111, 94.3733)]
    [InlineData("cifar100", "test", 9930, 73.5133)]
    [InlineData("imagenet16", "test", 857, 47.3111)]
    [InlineData("cifar10", "valid", 1459, 91.57)]
    public void BestReportsTheTopCellOfADataset(string dataset, string metric, int index, double accuracy)
    {
        using var cli = new CliHarness();
        var j = cli.Json("nb201", "best", "--dataset", dataset, "--metric", metric);
        Assert.Equal(accuracy, j.GetProperty("accuracy").GetDouble());
        Assert.Equal(index, j.GetProperty("cell").GetProperty("index").GetInt32());
    }

    [Trait("Category", "Reliability")]
    [Theory]
    [InlineData(2, "it has 2 node groups", "nb201", "query", "|nor_conv_3x3~0|+|none~0|none~1|")]
    [InlineData(2, "give either ARCH", "nb201", "query")]
    [InlineData(2, "give either ARCH", "nb201", "query", Best, "--index", "3")]
    [InlineData(2, "index 20000 is not in the NAS-Bench-201 table", "nb201", "query", "--index", "20000")]
    [InlineData(2, "--dataset mnist: expected cifar10, cifar100 or imagenet16", "nb201", "best", "--dataset", "mnist")]
    [InlineData(2, "--metric train: expected test or valid", "nb201", "best", "--dataset", "cifar10", "--metric", "train")]
    public void ErrorsAreOneLineWithANonZeroExitCode(int expectedCode, string message, params string[] args)
    {
        using var cli = new CliHarness();
        var (code, _, err) = cli.Run(args);
        Assert.Equal(expectedCode, code);
        Assert.Contains(message, err);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void AUserTableIsReadFromTable()
    {
        using var cli = new CliHarness();
        var path = Path.Combine(cli.Directory, "mine.csv");
        File.WriteAllText(path, "index,arch,cifar10_valid,cifar10_test,cifar100_valid,cifar100_test,imagenet16_valid,imagenet16_test\n"
            + $"42,{Best},1,2,3,4,5,6\n");
        var j = cli.Json("nb201", "best", "--dataset", "cifar100", "--table", path);
        Assert.Equal(4.0, j.GetProperty("accuracy").GetDouble());
        Assert.Equal(42, j.GetProperty("cell").GetProperty("index").GetInt32());

        File.WriteAllText(path, "index,arch\n");
        var (code, _, err) = cli.Run("nb201", "best", "--dataset", "cifar10", "--table", path);
        Assert.Equal(1, code);
        Assert.Contains($"{path}:1: expected the header", err);
    }

    [Fact]
    public void SpaceCommandsKnowNb201()
    {
        using var cli = new CliHarness();
        var count = cli.Json("space", "count", "--space", "nb201");
        Assert.Equal("15625", count.GetProperty("count").GetRawText());
        Assert.Equal("6466", cli.Json("space", "count", "--space", "nb201", "--unique", "nas-bench-201").GetProperty("count").GetRawText());

        var a = cli.Run("space", "sample", "--space", "nb201", "--n", "4", "--seed", "9");
        var b = cli.Run("space", "sample", "--space", "nb201", "--n", "4", "--seed", "9");
        Assert.Equal(0, a.Code);
        Assert.Equal(a.Out, b.Out);
        var lines = a.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.All(lines, l => Assert.Equal(l, Nb201Genotype.Parse(l).Canonical));
    }
}
