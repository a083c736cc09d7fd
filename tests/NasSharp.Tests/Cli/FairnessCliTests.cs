using System.Text.Json;
using NasSharp.Cli;
using NasSharp.Store;
using Xunit;

namespace NasSharp.Tests.Cli;

/// <summary><c>nas bench fairness</c>: usage mistakes refused in one line, and a killed run resumed with every supernet stored once.</summary>
[Collection(TorchCollection.Name)]
public class FairnessCliTests
{
    private static readonly string[] Tiny =
    [
        "bench", "fairness", "--channels", "2", "--cells", "1", "--train-size", "200", "--val-size", "100", "--test-size", "10", "--n", "30",
        "--epochs", "1", "--batch-size", "50", "--calibration", "20", "--top-k", "2", "--isometry-batch", "2", "--regimes", "spos,fairnas", "--seeds", "2",
        "--seed", "4", "--threads", "1",
    ];

    [Theory]
    [InlineData("--regimes", "spos,darts", "Unknown supernet regime 'darts'")]
    [InlineData("--space", "mlp", "no weight-sharing form")]
    [InlineData("--n", "1", "at least 2 cells")]
    [InlineData("--target", "mnist", "--target mnist")]
    public void AUsageMistakeIsOneLineAndANonZeroExit(string option, string value, string expected)
    {
        using var cli = new CliHarness();
        var (code, _, err) = cli.Run("bench", "fairness", option, value, "--threads", "1");
        Assert.NotEqual(0, code);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(expected, err, StringComparison.Ordinal);
        Assert.Empty(StoredRuns(cli.StorePath));
    }

    [Fact]
    [Trait("Category", "Reliability")]
    public void AKilledFairnessRunResumesWithEverySupernetStoredExactlyOnce()
    {
        using var cli = new CliHarness();
        cli.KillOnceStored(Tiny, () => StoredRuns(cli.StorePath).Sum(r => r.ResultCount), 1, TimeSpan.FromMinutes(15));
        int storedAtKill = StoredRuns(cli.StorePath).Sum(r => r.ResultCount);
        Assert.InRange(storedAtKill, 1, 3);

        var @out = new StringWriter();
        var err = new StringWriter();
        int code = NasApp.Run([.. Tiny, "--store", cli.StorePath, "--json"], new CliConsole(@out, err, interactive: false));
        Assert.True(code == 0, err.ToString());
        var resumed = JsonDocument.Parse(@out.ToString()).RootElement;
        // One stored run (the killed one, resumed) holding each supernet once.
        Assert.Equal(4, resumed.GetProperty("runs").GetArrayLength());

        using var store = ResultsStore.Open(cli.StorePath);
        var runs = store.ListRuns(kind: "fairness");
        Assert.Single(runs);
        Assert.Equal(RunStatus.Completed, runs[0].Status);
        var keys = store.GetResults(runs[0].Id).Select(r => r.Record.ItemKey).Order().ToList();
        Assert.Equal(new[] { "run/fairnas/0", "run/fairnas/1", "run/spos/0", "run/spos/1" }, keys);
    }

    private static IReadOnlyList<RunInfo> StoredRuns(string path)
    {
        if (!File.Exists(path)) return [];
        try
        {
            using var store = ResultsStore.Open(path);
            return store.ListRuns(kind: "fairness");
        }
        catch (StoreException)
        {
            return []; // the child is still creating the schema
        }
    }
}
