using NasSharp.Cluster;
using NasSharp.Tests.Cli;
using Xunit;

namespace NasSharp.Tests.Cluster;

/// <summary>Mistakes in the cluster options: one line, the right exit code, and no run stored.</summary>
[Collection(TorchCollection.Name)]
public class ClusterCliTests
{
    private static readonly string[] Correlate = ["bench", "correlate", "--n", "2", "--batch", "4", "--proxies", "params", "--train-size", "200"];

    [Theory]
    [InlineData("localhost:99999", "error: --cluster localhost:99999: the port must be a number from 1 to 65535.")]
    [InlineData("redis:", "error: --cluster redis: give the Redis connection, e.g. redis:redis-host:6379.")]
    [InlineData(",", "error: --cluster: give 'localhost' or the silos' gateways as HOST:PORT[,HOST:PORT…].")]
    [InlineData("adonet:", "error: --cluster adonet: give the PostgreSQL connection, e.g. 'adonet:Host=db-host;Database=orleans;Username=orleans;Password=…'.")]
    public void ABadClusterAddressIsAUsageMistake(string cluster, string expected)
    {
        using var cli = new CliHarness();
        Assert.Equal(expected, cli.UsageError([.. Correlate, "--cluster", cluster]));
        Assert.False(File.Exists(cli.StorePath) && new FileInfo(cli.StorePath).Length > 0 && HasRuns(cli.StorePath));
    }

    [Fact]
    public void AClusterThatIsNotThereIsOneLineAndExitCodeOne()
    {
        using var cli = new CliHarness();
        int port = LocalSilos.FreePort();
        var (code, output, err) = cli.Run([.. Correlate, "--cluster", $"127.0.0.1:{port}"]);
        Assert.Equal(1, code);
        Assert.Equal("", output);
        var line = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: --cluster: cannot reach a silo at 127.0.0.1:{port} (", line);
        Assert.EndsWith("start one with 'nas cluster silo'.", line);
        Assert.False(HasRuns(cli.StorePath));
    }

    [Fact]
    public void AStrategyWhoseCandidatesAreNotItemsIsAUsageMistake()
    {
        using var cli = new CliHarness();
        Assert.Equal("error: --cluster: --strategy nasi cannot be run on a cluster; these can: eigen, proxy.",
            cli.UsageError(["search", "--strategy", "nasi", "--train-size", "200", "--cluster", $"127.0.0.1:{LocalSilos.FreePort()}"]));
        Assert.False(HasRuns(cli.StorePath));
    }

    [Theory]
    [InlineData(new[] { "--port", "0" }, "error: --port 0: must be a port number from 1 to 65535.")]
    [InlineData(new[] { "--advertise", "somewhere" }, "error: --advertise somewhere: not an IP address.")]
    [InlineData(new[] { "--primary", "localhost:70000" }, "error: --primary localhost:70000: the port must be a number from 1 to 65535.")]
    [InlineData(new[] { "--clustering", "adonet" }, "error: --clustering adonet: give the database with --connection.")]
    [InlineData(new[] { "--clustering", "mysql", "--connection", "x" }, "error: --clustering mysql: use adonet (PostgreSQL) or redis.")]
    [InlineData(new[] { "--connection", "x" }, "error: --connection: give the kind of database with --clustering adonet or --clustering redis.")]
    public void ABadSiloOptionIsAUsageMistake(string[] options, string expected)
    {
        using var cli = new CliHarness();
        Assert.Equal(expected, cli.UsageError(["cluster", "silo", .. options]));
    }

    [Theory]
    [InlineData(new[] { "--workload", "resnet" }, "error: --workload resnet: use nb201-proxies|mlp-eigen.")]
    [InlineData(new[] { "--workload", "mlp-eigen", "--proxies", "snip" }, "error: --proxies: only the nb201-proxies workload scores proxies; drop it for --workload mlp-eigen.")]
    [InlineData(new[] { "--batch", "1" }, "error: --batch 1: must be at least 2.")]
    public void ABadBenchClusterOptionIsAUsageMistake(string[] options, string expected)
    {
        using var cli = new CliHarness();
        Assert.Equal(expected, cli.UsageError(["bench", "cluster", .. options]));
    }

    private static bool HasRuns(string storePath)
    {
        if (!File.Exists(storePath)) return false;
        using var store = NasSharp.Store.ResultsStore.Open(storePath);
        return store.ListRuns().Count > 0;
    }
}
